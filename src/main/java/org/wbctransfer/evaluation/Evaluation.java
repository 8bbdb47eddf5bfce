package org.wbctransfer.evaluation;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.ImageCache;
import org.wbctransfer.model.Classifier;

/**
 * Runs a classifier over labelled cached images and writes {@code metrics.json},
 * {@code report.txt}, {@code confusion.png} and {@code predictions.csv} into an output folder.
 */
public final class Evaluation {

    private Evaluation() {}

    public record Result(ClassificationMetrics metrics, float[][] probabilities, int[] truth) {}

    public static Result run(Classifier classifier, ImageCache cache, List<BatchLoader.Sample> samples) {
        int size = classifier.metadata().imageSize();
        Augmenter plain = new Augmenter(org.wbctransfer.data.Augmentation.none(), classifier.metadata().normalization(), size);
        float[][] probs;
        try (BatchLoader loader = new BatchLoader(cache, samples, plain, false, 64)) {
            probs = classifier.predict(loader);
        }
        int n = samples.size();
        int[] truth = new int[n];
        int[] pred = new int[n];
        for (int i = 0; i < n; i++) {
            truth[i] = samples.get(i).label();
            pred[i] = argMax(probs[i]);
        }
        List<String> classes = classifier.metadata().classes();
        ClassificationMetrics m = ClassificationMetrics.compute(ConfusionMatrix.of(classes, truth, pred), probs, truth);
        return new Result(m, probs, truth);
    }

    public static void write(Result r, List<String> files, Path outDir, String title) throws IOException {
        EvaluationReport.writeJson(r.metrics(), outDir.resolve("metrics.json"));
        EvaluationReport.writeText(r.metrics(), title, outDir.resolve("report.txt"));
        ConfusionMatrixPlot.writePng(r.metrics().confusionMatrix(), outDir.resolve("confusion.png"), title);
        List<String> classes = r.metrics().classNames();
        StringBuilder sb = new StringBuilder("file,true,predicted");
        classes.forEach(c -> sb.append(",p_").append(c));
        sb.append('\n');
        for (int i = 0; i < r.truth().length; i++) {
            sb.append(files.get(i)).append(',').append(classes.get(r.truth()[i])).append(',')
                    .append(classes.get(argMax(r.probabilities()[i])));
            for (float p : r.probabilities()[i]) {
                sb.append(',').append(String.format(java.util.Locale.ROOT, "%.5f", p));
            }
            sb.append('\n');
        }
        org.wbctransfer.util.AtomicFiles.writeString(outDir.resolve("predictions.csv"), sb.toString());
    }

    static int argMax(float[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) {
            if (p[i] > p[best]) {
                best = i;
            }
        }
        return best;
    }

    public static List<String> paths(ImageCache cache, List<BatchLoader.Sample> samples) {
        List<String> out = new ArrayList<>();
        samples.forEach(s -> out.add(cache.path(s.cacheIndex())));
        return out;
    }
}
