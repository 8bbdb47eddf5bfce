package org.wbctransfer.spark;

import java.io.Serializable;
import java.nio.file.Path;
import org.apache.spark.SparkFiles;

/**
 * How an executor finds the model bundle: a path it sees, or the name under which {@code
 * SparkContext.addFile} shipped the folder ({@link SparkFiles#get}); with the engine the driver
 * chose and the threads a task may use.
 */
record BundleRef(String path, String shippedName, String engine, int taskThreads) implements Serializable {

    /** The bundle folder on this machine. */
    Path localDir() {
        return shippedName != null ? Path.of(SparkFiles.get(shippedName)) : Path.of(path);
    }
}
