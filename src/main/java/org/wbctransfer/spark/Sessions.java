package org.wbctransfer.spark;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.wbctransfer.data.ImageFolder;
import org.wbctransfer.util.UserException;

/**
 * The Spark session of one {@code wbc spark} command and what its jobs share: the bundle shipped
 * (or named) for the executors, and the input images as a table of {@code path} (+ {@code content}).
 * Embedded by default: no master given and none from spark-submit means {@code local[*]} in this
 * JVM, with the web UI and the console progress bar off.
 */
final class Sessions implements AutoCloseable {

    private final SparkSession spark;
    private final boolean local;

    private Sessions(SparkSession spark, boolean local) {
        this.spark = spark;
        this.local = local;
    }

    static Sessions open(String app, SparkSettings settings) {
        SparkSession.Builder b = SparkSession.builder().appName(app)
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false");
        String master = settings.effectiveMaster();
        if (settings.master() != null || System.getProperty("spark.master") == null) {
            b.master(master);
        }
        return new Sessions(b.getOrCreate(), master.startsWith("local"));
    }

    SparkSession spark() {
        return spark;
    }

    Configuration hadoop() {
        return spark.sparkContext().hadoopConfiguration();
    }

    /** The bundle as executors find it: shipped with addFile (recursive), or by its path. */
    BundleRef bundle(Path dir, String engine, SparkSettings settings) {
        Path abs = dir.toAbsolutePath().normalize();
        if (settings.ships()) {
            spark.sparkContext().addFile(abs.toUri().toString(), true);
            return new BundleRef(null, abs.getFileName().toString(), engine, settings.taskThreads());
        }
        return new BundleRef(abs.toString(), null, engine, settings.taskThreads());
    }

    /** Whether the input names a table of paths (a CSV or Parquet file or folder with a {@code path} column). */
    static boolean isTable(String input, boolean table) {
        String l = input.toLowerCase(Locale.ROOT);
        return table || l.endsWith(".csv") || l.endsWith(".parquet");
    }

    static boolean isGlob(String input) {
        return input.chars().anyMatch(ch -> ch == '*' || ch == '?' || ch == '[' || ch == '{');
    }

    /**
     * The images of an input: a folder (searched recursively like {@code wbc predict}: image
     * extensions only; Spark skips names starting with '.' or '_'), a single file, or a glob, read
     * by the binaryFile source as {@code path, content}; or a table's {@code path} column, spread
     * over the cluster ({@code path} only: the executors read the files).
     */
    Dataset<Row> images(String input, boolean table) throws IOException {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(input);
        FileSystem fs = p.getFileSystem(hadoop());
        if (isGlob(input) && !table) {
            FileStatus[] found = fs.globStatus(p);
            if (found == null || found.length == 0) {
                throw new UserException(input + ": no files match");
            }
            return spark.read().format("binaryFile").load(input).select("path", "content");
        }
        if (!fs.exists(p)) {
            throw new UserException(input + ": not found");
        }
        if (isTable(input, table)) {
            Dataset<Row> t = input.toLowerCase(Locale.ROOT).endsWith(".csv")
                    ? spark.read().option("header", "true").csv(input) : spark.read().parquet(input);
            if (!java.util.Arrays.asList(t.columns()).contains("path")) {
                throw new UserException(input + ": has no 'path' column (columns: " + String.join(", ", t.columns()) + ")");
            }
            Dataset<Row> paths = t.select(functions.col("path").cast("string").alias("path"));
            long n = paths.count();
            int parts = (int) Math.max(spark.sparkContext().defaultParallelism(), Math.min(100_000, (n + 999) / 1000));
            return paths.repartition(parts);
        }
        if (!fs.getFileStatus(p).isDirectory()) {
            return spark.read().format("binaryFile").load(input).select("path", "content");
        }
        String extensions = String.join("|", ImageFolder.IMAGE_EXTENSIONS);
        return spark.read().format("binaryFile").option("recursiveFileLookup", "true").load(input)
                .filter(functions.lower(functions.col("path")).rlike("\\.(" + extensions + ")$"))
                .select("path", "content");
    }

    /** The driver's working directory, against which a table's relative paths are read. */
    String workingDirectory() throws IOException {
        return FileSystem.get(hadoop()).getWorkingDirectory().toString();
    }

    /** Stops the session; in local mode the executors were this JVM, so their models are closed too. */
    @Override
    public void close() {
        try {
            spark.stop();
        } finally {
            if (local) {
                ModelCache.closeAll();
            }
        }
    }
}
