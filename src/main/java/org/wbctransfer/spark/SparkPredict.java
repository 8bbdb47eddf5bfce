package org.wbctransfer.spark;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.DataFrameWriter;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.util.LongAccumulator;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelMetadata;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;

/**
 * {@code wbc spark predict}: classifies every image of an input (folder tree, glob, or table of
 * paths) on Spark's executors ({@link ClassifyPartition}) and writes one table
 * ({@link PredictionRows#schema}) through Spark's output committer: a job that fails leaves no
 * half-written table behind, and a retried task's rows replace those of its failed attempt.
 */
public final class SparkPredict {

    /**
     * @param bundle    the model folder (metadata.json, weights.params, maybe model.onnx)
     * @param engine    {@code "onnx"} or {@code "torch"}, as the driver chose it
     * @param input     folder, file, glob, or CSV/Parquet table with a {@code path} column (Hadoop paths)
     * @param table     read {@code input} as a table whatever its name
     * @param out       where the table goes (Hadoop path)
     * @param format    {@code parquet} or {@code csv}
     * @param overwrite replace an existing {@code out} instead of refusing
     * @param batch     images per forward pass
     */
    public record Job(Path bundle, String engine, String input, boolean table, String out, String format,
            boolean overwrite, int batch, SparkSettings settings) {}

    /** What a job did: images classified, files that could not be, images flagged out of distribution. */
    public record Summary(long images, long errors, long flagged, String master) {}

    private SparkPredict() {}

    public static Summary run(Job job) throws IOException {
        String format = job.format().toLowerCase(Locale.ROOT);
        if (!format.equals("parquet") && !format.equals("csv")) {
            throw new UserException("--format must be parquet or csv, got '" + job.format() + "'");
        }
        if (job.batch() < 1) {
            throw new UserException("--batch must be at least 1, got " + job.batch());
        }
        ModelMetadata md = Json.read(job.bundle().resolve(Classifier.METADATA), ModelMetadata.class);
        try (Sessions s = Sessions.open("wbc spark predict", job.settings())) {
            org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(job.out());
            if (!job.overwrite() && out.getFileSystem(s.hadoop()).exists(out)) {
                throw new UserException(job.out() + ": already exists (--overwrite replaces it)");
            }
            Dataset<Row> images = s.images(job.input(), job.table());
            boolean readBytes = images.columns().length == 1;
            BundleRef ref = s.bundle(job.bundle(), job.engine(), job.settings());
            org.apache.spark.SparkContext sc = s.spark().sparkContext();
            LongAccumulator classified = sc.longAccumulator("images");
            LongAccumulator errors = sc.longAccumulator("errors");
            LongAccumulator flagged = sc.longAccumulator("flagged");
            JavaRDD<Row> rows = images.javaRDD().mapPartitions(new ClassifyPartition(ref, job.batch(), readBytes,
                    s.workingDirectory(), classified, errors, flagged));
            DataFrameWriter<Row> w = s.spark().createDataFrame(rows, PredictionRows.schema(md)).write()
                    .mode(job.overwrite() ? SaveMode.Overwrite : SaveMode.ErrorIfExists).format(format);
            if (format.equals("csv")) {
                w = w.option("header", "true");
            }
            w.save(job.out());
            return new Summary(classified.value(), errors.value(), flagged.value(), job.settings().effectiveMaster());
        }
    }
}
