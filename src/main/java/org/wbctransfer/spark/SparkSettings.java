package org.wbctransfer.spark;

/**
 * Where and how a {@code wbc spark} job runs; plain Java, so the command line can build it without
 * loading Spark.
 *
 * @param master      Spark master URL; null: the one spark-submit set, else {@code local[*]} in this JVM
 * @param taskThreads libtorch (and ONNX Runtime intra-op) threads per task; executor cores give the
 *                    parallelism, so 1 by default; 0 leaves the JVM's setting
 * @param shipBundle  copy the bundle to every executor with {@code SparkContext.addFile} (recursive);
 *                    false: read it from its path, which every executor must see. Null: ship it
 *                    unless the master is local (one machine, one file system)
 */
public record SparkSettings(String master, int taskThreads, Boolean shipBundle) {

    public SparkSettings {
        if (taskThreads < 0) {
            throw new org.wbctransfer.util.UserException("--task-threads must be 0 or more, got " + taskThreads);
        }
    }

    /** The master this job asks for: the given one, spark-submit's, or {@code local[*]}. */
    String effectiveMaster() {
        if (master != null) {
            return master;
        }
        String submitted = System.getProperty("spark.master");
        return submitted != null ? submitted : "local[*]";
    }

    boolean ships() {
        return shipBundle != null ? shipBundle : !effectiveMaster().startsWith("local");
    }
}
