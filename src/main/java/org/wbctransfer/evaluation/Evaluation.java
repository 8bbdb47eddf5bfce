package org.wbctransfer.evaluation;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.ImageCache;
import org.wbctransfer.data.SplitData;
import org.wbctransfer.data.SplitManifest;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelMetadata;
import org.wbctransfer.util.Json;

/**
 * Runs a classifier over labelled cached images and writes {@code metrics.json},
 * {@code report.txt}, {@code confusion.png} and {@code predictions.csv} into an output folder.
 */
public final class Evaluation {

    private static final Logger LOG = LoggerFactory.getLogger(Evaluation.class);

    private Evaluation() {}


    /**
     * What an evaluation found. {@code scores}: the three out-of-distribution scores per image
     * ({@link org.wbctransfer.model.OodDetector#scores}); {@code ood}: the one the model's metadata
     * names, with its settings {@code oodSettings}, or null when the model has none.
     */
    public record Result(ClassificationMetrics metrics, float[][] probabilities, int[] truth, String title,
            double[][] scores, double[] ood, ModelMetadata.Ood oodSettings) {

        /** Images whose score is above the model's threshold; 0 without a score. */
        public int flagged() {
            int n = 0;
            if (ood != null) {
                for (double v : ood) {
                    n += oodSettings.flags(v) ? 1 : 0;
                }
            }
            return n;
        }
    }

    /**
     * Evaluates a freshly trained model on the test split of its manifest, writes
     * {@code <runDir>/eval-test/} and adds the test metrics to the model's metadata.json. The only
     * place where training code reads test images. {@code strict}: an unreadable test image is an error.
     */
    public static Result testSplit(Classifier model, TrainConfig config, Path runDir, boolean strict) throws IOException {
        Result r = testSplitTo(model, config, RunDir.of(runDir).testEval(), strict, false);
        ModelMetadata md = model.metadata().withMetrics(testMetrics(r.metrics()));
        Json.write(RunDir.of(runDir).model().resolve(Classifier.METADATA), md);
        return r;
    }

    /** The test figures a model's metadata.json records under {@code metrics}, in this order. */
    public static Map<String, Object> testMetrics(ClassificationMetrics m) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("testAccuracy", m.accuracy());
        out.put("testMacroF1", m.macroF1());
        out.put("testWeightedF1", m.weightedF1());
        out.put("testImages", m.confusionMatrix().total());
        return out;
    }

    /**
     * Evaluates on the test split of the model's manifest and writes the reports into outDir,
     * leaving the model's metadata alone (a bundle is not a run directory to record into).
     * Unreadable test images are skipped,
     * warned about and listed in {@code skipped.txt}; when {@code strict}, the first one is a
     * {@link org.wbctransfer.util.UserException} and nothing is written. {@code dihedral} averages
     * over the eight flips and right-angle rotations of each image.
     */
    public static Result testSplitTo(Classifier model, TrainConfig config, Path outDir, boolean strict,
            boolean dihedral) throws IOException {
        SplitManifest m = SplitManifest.read(Path.of(config.manifest()));
        SplitData data = SplitData.open(Path.of(config.dataRoot()), m, config.imageSize(), model.framing(),
                Path.of(config.cacheDir()));
        return entriesTo(model, config, data, m.test(), "test", "test split", outDir, strict, dihedral);
    }

    /**
     * Evaluates on the run's validation carve-out ({@code validation}, the entries its epoch was
     * chosen on) and writes the reports into outDir. Only the training images are decoded, so a
     * decision such as test-time augmentation can be made before any test image is read.
     */
    public static Result validationTo(Classifier model, TrainConfig config, List<SplitManifest.Entry> validation,
            Path outDir, boolean strict, boolean dihedral) throws IOException {
        SplitManifest m = SplitManifest.read(Path.of(config.manifest()));
        SplitData data = SplitData.openTraining(Path.of(config.dataRoot()), m, config.imageSize(), model.framing(),
                Path.of(config.cacheDir()));
        return entriesTo(model, config, data, validation, "validation", "validation carve-out", outDir, strict, dihedral);
    }

    private static Result entriesTo(Classifier model, TrainConfig config, SplitData data,
            List<SplitManifest.Entry> entries, String kind, String what, Path outDir, boolean strict, boolean dihedral)
            throws IOException {
        List<String> skipped = new ArrayList<>();
        List<BatchLoader.Sample> samples = data.samples(entries, skipped);
        if (strict && !skipped.isEmpty()) {
            throw new org.wbctransfer.util.UserException(skipped.get(0));
        }
        skipped.forEach(s -> org.wbctransfer.util.Warnings.warn(s + "; skipped"));
        if (samples.isEmpty()) {
            throw new org.wbctransfer.util.UserException(config.manifest() + ": no readable " + kind + " images");
        }
        String title = "ResNet-18 " + config.subset() + " seed " + config.seed() + " on the " + what + " ("
                + samples.size() + " images" + (dihedral ? ", 8-view test-time augmentation" : "")
                + (skipped.isEmpty() ? "" : ", " + skipped.size() + " unreadable skipped") + ")";
        Result r = withTitle(run(model, data.cache(), samples, dihedral), title);
        write(r, paths(data.cache(), samples), skipped, outDir, title);
        return r;
    }

    /**
     * Evaluates on a labelled folder outside the split (class folders, or a wbc-seg style
     * {@code images/} + {@code labels.csv}) whose class names match the model's (case-insensitively)
     * and writes the reports into outDir. Unreadable images and classes the model does not know are
     * skipped, passed to {@code warn} and listed in {@code skipped.txt}; when {@code strict}, the
     * first one is a {@link org.wbctransfer.util.UserException}. With {@code adaptBn} the model's
     * BatchNorm statistics are first re-estimated on these images ({@link Classifier#adaptBatchNorm}):
     * the classifier is changed in place.
     */
    public static Result folder(Classifier c, Path folder, Path outDir, Path cacheDir, boolean strict, boolean tta,
            boolean adaptBn, java.util.function.Consumer<String> warn) throws IOException {
        if (adaptBn) {
            c.requireBatchNorm(); // before the folder is decoded
        }
        Labelled l = Labelled.load(c, folder, cacheDir, strict, warn);
        ImageCache cache = l.cache();
        List<BatchLoader.Sample> samples = l.samples();
        List<String> skipped = l.skipped();
        if (samples.isEmpty()) {
            throw new org.wbctransfer.util.UserException(folder + ": no readable images to evaluate");
        }
        int adapted = adaptBn ? adaptBatchNorm(c, cache, samples) : 0;
        String title = "ResNet-18 on " + folder + " (" + samples.size() + " images"
                + (tta ? ", 8-view test-time augmentation" : "")
                + (adaptBn ? ", BatchNorm statistics re-estimated on " + adapted + " of these images" : "")
                + (skipped.isEmpty() ? "" : ", " + skipped.size() + " file(s) skipped") + ")";
        Result r = withTitle(run(c, cache, samples, tta), title);
        write(r, paths(cache, samples), skipped, outDir, title);
        return r;
    }

    /**
     * The readable images of a labelled folder (class folders, or {@code images/} + {@code labels.csv})
     * whose class the model knows, decoded at the model's size, with everything left out listed in
     * {@code skipped} ("file: problem") and passed to {@code warn}: a class the model does not know
     * (once per class), an unusable or unreadable file. When {@code strict}, the first of them is a
     * {@link org.wbctransfer.util.UserException}; so is a folder none of whose classes the model knows.
     */
    public record Labelled(ImageCache cache, List<BatchLoader.Sample> samples, List<String> skipped) {

        public static Labelled load(Classifier c, Path folder, Path cacheDir, boolean strict,
                java.util.function.Consumer<String> warn) throws IOException {
            org.wbctransfer.data.ImageFolder f = org.wbctransfer.data.ImageFolder.scanEither(folder, strict);
            f.warnings().forEach(warn);
            List<String> skipped = new ArrayList<>();
            f.skipped().forEach(s -> skipped.add(folder.resolve(s.relativePath()) + ": " + s.problem()));
            List<String> classes = c.metadata().classes();
            for (String cls : f.classNames()) {
                if (c.metadata().classIndex(cls) < 0) {
                    long n = f.items().stream().filter(it -> it.className().equals(cls)).count();
                    String problem = "class '" + cls + "' is not one of the model's classes " + classes;
                    if (strict) {
                        throw new org.wbctransfer.util.UserException(folder.resolve(cls) + ": " + problem);
                    }
                    warn.accept(folder.resolve(cls) + ": " + problem + "; its " + n + " image(s) skipped");
                }
            }
            List<String> paths = new ArrayList<>();
            List<Integer> labels = new ArrayList<>();
            for (org.wbctransfer.data.ImageFolder.Item it : f.items()) {
                int label = c.metadata().classIndex(it.className());
                if (label < 0) {
                    skipped.add(folder.resolve(it.relativePath()) + ": class '" + it.className() + "' unknown to the model");
                    continue;
                }
                paths.add(it.relativePath());
                labels.add(label);
            }
            if (paths.isEmpty()) {
                throw new org.wbctransfer.util.UserException(folder + ": none of the class folders " + f.classNames()
                        + " is one of the model's classes " + classes);
            }
            ImageCache cache = ImageCache.open(folder, paths, c.metadata().imageSize(), c.framing(), cacheDir);
            List<BatchLoader.Sample> samples = new ArrayList<>();
            for (int i = 0; i < paths.size(); i++) {
                if (cache.pixels(i) == null) {
                    String line = folder.resolve(paths.get(i)) + ": " + cache.problem(i);
                    if (strict) {
                        throw new org.wbctransfer.util.UserException(line);
                    }
                    warn.accept(line + "; skipped");
                    skipped.add(line);
                } else {
                    samples.add(new BatchLoader.Sample(i, labels.get(i)));
                }
            }
            return new Labelled(cache, samples, skipped);
        }
    }

    /** {@link Classifier#adaptBatchNorm} on the plain (unaugmented) images of the samples. */
    public static int adaptBatchNorm(Classifier c, ImageCache cache, List<BatchLoader.Sample> samples) {
        return adaptBatchNorm(c, cache.pixels(samples));
    }

    /** {@link Classifier#adaptBatchNorm} on the plain images of decoded RGB pixels (at the model's size). */
    public static int adaptBatchNorm(Classifier c, List<byte[]> pixels) {
        int size = c.metadata().imageSize();
        Augmenter plain = plain(c);
        List<float[]> images = new ArrayList<>();
        for (int i : Classifier.adaptationSample(pixels.size())) {
            float[] x = new float[3 * size * size];
            plain.plain(pixels.get(i), x, 0);
            images.add(x);
        }
        int batches = c.adaptBatchNorm(images);
        LOG.info("BatchNorm statistics re-estimated on {} images ({} batches)", images.size(), batches);
        return images.size();
    }

    /** Accuracy at coverage and coverage at accuracy ({@link Selective}) of an evaluation. */
    public static final String SELECTIVE = "selective.json";

    /** Name of the list of skipped files ("file: problem" per line) in an evaluation folder. */
    public static final String SKIPPED = "skipped.txt";

    /**
     * The preprocessing of evaluation: no augmentation, the model's own normalization (its
     * preprocessing block where it has one), at its size.
     */
    public static Augmenter plain(Classifier c) {
        return new Augmenter(org.wbctransfer.config.Augmentation.none(), c.metadata().inputNormalization(),
                c.metadata().imageSize());
    }

    /** Probabilities and out-of-distribution scores of the samples' plain images, in sample order. */
    public static Classifier.Scored scored(Classifier c, ImageCache cache, List<BatchLoader.Sample> samples,
            boolean dihedral) {
        try (BatchLoader loader = new BatchLoader(cache, samples, plain(c), false, 64)) {
            return c.predict(loader, dihedral);
        }
    }

    private static Result withTitle(Result r, String title) {
        return new Result(r.metrics(), r.probabilities(), r.truth(), title, r.scores(), r.ood(), r.oodSettings());
    }

    public static Result run(Classifier classifier, ImageCache cache, List<BatchLoader.Sample> samples) {
        return run(classifier, cache, samples, false);
    }

    public static Result run(Classifier classifier, ImageCache cache, List<BatchLoader.Sample> samples,
            boolean dihedral) {
        Classifier.Scored scored = scored(classifier, cache, samples, dihedral);
        float[][] probs = scored.probabilities();
        int[] truth = samples.stream().mapToInt(BatchLoader.Sample::label).toArray();
        ClassificationMetrics m = metrics(classifier.metadata().classes(), probs, truth);
        return new Result(m, probs, truth, "", scored.scores(), classifier.oodScore(scored), classifier.metadata().ood());
    }

    /** The metrics of probabilities against true classes, each image called by its most probable class. */
    public static ClassificationMetrics metrics(List<String> classes, float[][] probs, int[] truth) {
        int[] pred = new int[truth.length];
        for (int i = 0; i < truth.length; i++) {
            pred[i] = Classifier.argMax(probs[i]);
        }
        return ClassificationMetrics.compute(ConfusionMatrix.of(classes, truth, pred), probs, truth);
    }

    /** What report.txt holds and the commands print: the per-class report, then calibration and selective lines. */
    public static String reportText(Result r) {
        return reportText(r, Calibration.of(r.probabilities(), r.truth()), Selective.of(r.probabilities(), r.truth()));
    }

    private static String reportText(Result r, Calibration cal, Selective sel) {
        return EvaluationReport.toText(r.metrics(), r.title()) + "\n" + cal.line() + "\n" + sel.line() + "\n"
                + (r.ood() == null ? "" : oodLine(r) + "\n");
    }

    /** How many images the model's out-of-distribution score flags, one line. */
    public static String oodLine(Result r) {
        int n = r.truth().length;
        return String.format(java.util.Locale.ROOT, "out of distribution: %d of %d images flagged (%.2f %%; score above %.4g)",
                r.flagged(), n, 100.0 * r.flagged() / n, r.oodSettings().threshold());
    }

    /** The risk-coverage curve of an evaluation ({@link Selective#writeCurve}). */
    public static final String RISK_COVERAGE = "risk-coverage.png";

    /** The columns predictions.csv (and predict's output) adds when the model has an out-of-distribution score. */
    public static final String OOD_SCORE = "ood_score";
    public static final String OOD_FLAG = "out_of_distribution";

    /** The name of an evaluation's per-image file: {@code file,true,predicted,p_<class>...[,ood_score,out_of_distribution]}. */
    public static final String PREDICTIONS = "predictions.csv";

    /** Images, classes (the model's order), probabilities and true classes as {@link #write} saved them in {@value #PREDICTIONS}. */
    public record Saved(List<String> files, List<String> classes, float[][] probabilities, int[] truth) {}

    public static Saved readPredictions(Path file) throws IOException {
        List<String> lines = java.nio.file.Files.readAllLines(file);
        if (lines.isEmpty() || !lines.get(0).startsWith("file,true,predicted,p_")) {
            throw new org.wbctransfer.util.UserException(file + ": not a " + PREDICTIONS
                    + " (its header must start with file,true,predicted,p_<class>)");
        }
        List<String> header = List.of(lines.get(0).split(","));
        List<String> classes = header.subList(3, header.size()).stream().filter(h -> h.startsWith("p_"))
                .map(h -> h.substring(2)).toList();
        int k = classes.size();
        // Out-of-distribution columns, when present, follow the probabilities.
        int tail = header.size() - 3 - k;
        List<String> files = new ArrayList<>();
        List<float[]> probs = new ArrayList<>();
        List<Integer> truth = new ArrayList<>();
        for (int row = 1; row < lines.size(); row++) {
            String line = lines.get(row);
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split(",", -1);
            // File names are written unquoted and may hold commas: the last k + 2 fields are true,
            // predicted and the probabilities.
            int n = f.length - tail;
            int label = n >= k + 3 ? classes.indexOf(f[n - k - 2]) : -1;
            if (label < 0) {
                throw new org.wbctransfer.util.UserException(file + ": line " + (row + 1) + ": unknown class or too few"
                        + " columns");
            }
            float[] p = new float[k];
            try {
                for (int j = 0; j < k; j++) {
                    p[j] = Float.parseFloat(f[n - k + j]);
                }
            } catch (NumberFormatException e) {
                throw new org.wbctransfer.util.UserException(file + ": line " + (row + 1) + ": a probability is not a"
                        + " number");
            }
            files.add(String.join(",", java.util.Arrays.asList(f).subList(0, n - k - 2)));
            probs.add(p);
            truth.add(label);
        }
        return new Saved(files, classes, probs.toArray(new float[0][]), truth.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Writes the reports, and {@code skipped.txt} when files were skipped (removing a stale one otherwise). */
    public static void write(Result r, List<String> files, List<String> skipped, Path outDir, String title)
            throws IOException {
        if (skipped.isEmpty()) {
            java.nio.file.Files.deleteIfExists(outDir.resolve(SKIPPED));
        } else {
            org.wbctransfer.util.AtomicFiles.writeString(outDir.resolve(SKIPPED), String.join("\n", skipped) + "\n");
        }
        EvaluationReport.writeJson(r.metrics(), outDir.resolve(RunDir.METRICS));
        Calibration cal = Calibration.of(r.probabilities(), r.truth());
        Selective sel = Selective.of(r.probabilities(), r.truth());
        org.wbctransfer.util.AtomicFiles.writeString(outDir.resolve("report.txt"), reportText(r, cal, sel));
        cal.write(outDir, title);
        Selective.writeCurve(r.probabilities(), r.truth(), outDir.resolve(RISK_COVERAGE), title);
        org.wbctransfer.util.Json.write(outDir.resolve(SELECTIVE), sel);
        ConfusionMatrixPlot.writePng(r.metrics().confusionMatrix(), outDir.resolve("confusion.png"), title);
        List<String> classes = r.metrics().classNames();
        StringBuilder sb = new StringBuilder("file,true,predicted");
        classes.forEach(c -> sb.append(",p_").append(c));
        if (r.ood() != null) {
            sb.append(',').append(OOD_SCORE).append(',').append(OOD_FLAG);
        }
        sb.append('\n');
        for (int i = 0; i < r.truth().length; i++) {
            sb.append(files.get(i)).append(',').append(classes.get(r.truth()[i])).append(',')
                    .append(classes.get(Classifier.argMax(r.probabilities()[i])));
            for (float p : r.probabilities()[i]) {
                sb.append(',').append(String.format(java.util.Locale.ROOT, "%.5f", p));
            }
            if (r.ood() != null) {
                sb.append(',').append(String.format(java.util.Locale.ROOT, "%.6g", r.ood()[i])).append(',')
                        .append(r.oodSettings().flags(r.ood()[i]));
            }
            sb.append('\n');
        }
        org.wbctransfer.util.AtomicFiles.writeString(outDir.resolve(PREDICTIONS), sb.toString());
    }


    public static List<String> paths(ImageCache cache, List<BatchLoader.Sample> samples) {
        List<String> out = new ArrayList<>();
        samples.forEach(s -> out.add(cache.path(s.cacheIndex())));
        return out;
    }
}
