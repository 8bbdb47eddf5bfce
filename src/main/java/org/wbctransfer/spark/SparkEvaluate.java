package org.wbctransfer.spark;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.util.LongAccumulator;
import org.wbctransfer.evaluation.ClassificationMetrics;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelMetadata;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;

/**
 * {@code wbc spark evaluate}: {@code wbc evaluate --folder} with the images classified on Spark's
 * executors ({@link ClassifyPartition}). The folder holds class folders ({@code DIR/<Class>/<image>});
 * an image's label is its folder's name (case-insensitive, as the model's classes). The predictions
 * are collected on the driver and reported by the same code ({@link ClassificationMetrics},
 * {@link Evaluation#write}): report.txt, metrics.json, predictions.csv, the plots, skipped.txt.
 */
public final class SparkEvaluate {

    /** {@code folder}: a Hadoop path; {@code outDir}: a local folder for the reports. */
    public record Job(Path bundle, String engine, String folder, Path outDir, int batch, SparkSettings settings) {}

    private SparkEvaluate() {}

    public static Evaluation.Result run(Job job, Consumer<String> warn) throws IOException {
        if (job.batch() < 1) {
            throw new UserException("--batch must be at least 1, got " + job.batch());
        }
        ModelMetadata md = Json.read(job.bundle().resolve(Classifier.METADATA), ModelMetadata.class);
        List<String> classes = md.classes();
        List<Row> rows;
        String root;
        try (Sessions s = Sessions.open("wbc spark evaluate", job.settings())) {
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(job.folder());
            org.apache.hadoop.fs.FileSystem fs = p.getFileSystem(s.hadoop());
            if (!fs.exists(p) || !fs.getFileStatus(p).isDirectory()) {
                throw new UserException(job.folder() + ": not a folder of class folders");
            }
            root = fs.makeQualified(p).toString().replaceAll("/+$", "") + "/";
            // Class folders' images only (DIR/<Class>/<image>), as wbc evaluate --folder reads them.
            Dataset<Row> images = s.images(job.folder(), false)
                    .filter(functions.col("path").rlike("^" + Pattern.quote(root) + "[^/]+/[^/]+$"));
            BundleRef ref = s.bundle(job.bundle(), job.engine(), job.settings());
            org.apache.spark.SparkContext sc = s.spark().sparkContext();
            LongAccumulator a = sc.longAccumulator();
            rows = images.javaRDD().mapPartitions(new ClassifyPartition(ref, job.batch(), false, null, a,
                    sc.longAccumulator(), sc.longAccumulator())).collect();
        }
        rows = new ArrayList<>(rows);
        rows.sort(Comparator.comparing(r -> r.getString(0)));
        List<String> files = new ArrayList<>();
        List<float[]> probs = new ArrayList<>();
        List<Integer> truth = new ArrayList<>();
        List<Double> ood = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        TreeSet<String> unknown = new TreeSet<>();
        int k = classes.size();
        int err = 3 + k + (md.ood() != null ? 2 : 0);
        for (Row r : rows) {
            String rel = r.getString(0).substring(root.length());
            String cls = rel.substring(0, rel.indexOf('/'));
            int label = md.classIndex(cls);
            if (label < 0) {
                if (unknown.add(cls)) {
                    warn.accept(job.folder() + "/" + cls + ": class '" + cls + "' is not one of the model's classes "
                            + classes + "; its image(s) skipped");
                }
                skipped.add(r.getString(0) + ": class '" + cls + "' unknown to the model");
                continue;
            }
            if (!r.isNullAt(err)) {
                String line = r.getString(0) + ": " + r.getString(err);
                warn.accept(line + "; skipped");
                skipped.add(line);
                continue;
            }
            float[] p = new float[k];
            for (int j = 0; j < k; j++) {
                p[j] = (float) r.getDouble(3 + j);
            }
            files.add(rel);
            probs.add(p);
            truth.add(label);
            if (md.ood() != null) {
                ood.add(r.getDouble(3 + k));
            }
        }
        if (files.isEmpty()) {
            throw new UserException(job.folder() + ": no readable images of the model's classes " + classes);
        }
        float[][] pr = probs.toArray(new float[0][]);
        int[] t = truth.stream().mapToInt(Integer::intValue).toArray();
        String title = "ResNet-18 on " + job.folder() + " (" + t.length + " images"
                + (skipped.isEmpty() ? "" : ", " + skipped.size() + " file(s) skipped") + ")";
        ClassificationMetrics m = Evaluation.metrics(classes, pr, t);
        Evaluation.Result r = new Evaluation.Result(m, pr, t, title, null,
                md.ood() == null ? null : ood.stream().mapToDouble(Double::doubleValue).toArray(),
                md.ood());
        java.nio.file.Files.createDirectories(job.outDir());
        Evaluation.write(r, files, skipped, job.outDir(), title);
        return r;
    }
}
