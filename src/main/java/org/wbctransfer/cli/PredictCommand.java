package org.wbctransfer.cli;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.wbctransfer.data.ImageDecoder;
import org.wbctransfer.data.ImageFolder;
import org.wbctransfer.evaluation.DifferentialCount;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelInput;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code wbc predict}: class probabilities for image files and folders of images. */
@Command(name = "predict", mixinStandardHelpOptions = true,
        description = "Classify images with a model bundle. Folders are searched recursively for image files"
                + " (hidden files skipped). Unreadable images are reported on stderr and left out (listed under"
                + " \"skipped\" in JSON output); --strict stops at the first one instead.")
public final class PredictCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "Model bundle (from 'wbc export') or run directory")
    Path model;

    @Parameters(index = "1..*", arity = "1..*", description = "Image files and/or folders")
    List<Path> inputs;

    @Option(names = {"-o", "--out"}, description = "Output file, .csv or .json. Default: CSV on stdout")
    Path out;

    @Option(names = "--batch", defaultValue = "32", description = "Images per forward pass. Default: ${DEFAULT-VALUE}")
    int batch;

    @Mixin
    ProgressOption progress;

    @Option(names = "--channels-last", description = "Run the model in channels-last memory format (same results;"
            + " may be faster on CPU: measure with 'wbc bench --channels-last')")
    boolean channelsLast;

    @Option(names = "--adapt-bn", description = "Test-time BatchNorm adaptation for images from another microscope:"
            + " re-estimate the BatchNorm statistics on the input images (up to " + Classifier.ADAPT_MAX_IMAGES
            + ", evenly spaced; no labels) before predicting. Needs at least 16 readable images; recorded in the"
            + " JSON output and on stderr.")
    boolean adaptBn;

    @Option(names = "--min-confidence", description = "Abstain below this top probability: such an image is"
            + " answered 'refer' (for a person to review), its probabilities kept; the count is said on stderr")
    Double minConfidence;

    @Mixin
    StrictOption strictOption = new StrictOption();

    @Mixin
    EngineOption engineOption = new EngineOption();

    /** Images the BatchNorm statistics were re-estimated on (--adapt-bn), else 0. */
    private int adapted;

    /** Inputs --adapt-bn already decoded and normalized, by position in the file list: decoded once. */
    private final Map<Integer, float[]> decoded = new java.util.HashMap<>();

    /** Warnings for images too small to classify reliably, by position in the file list. */
    private final Map<Integer, String> smallImages = new java.util.HashMap<>();

    /** Inputs left out, in the order met. */
    private final List<Skipped> skipped = new ArrayList<>();

    /** One classified image; {@code ood} is NaN when the model has no out-of-distribution score. */
    record Prediction(String file, int predicted, float[] probabilities, double ood, boolean outOfDistribution) {}

    private record Skipped(Path file, String problem) {}

    /** An input read for the next batch: its decoded image, or the floats --adapt-bn already made of it. */
    private record Pending(String name, BufferedImage image, float[] ready) {}

    @Override
    public Integer call() throws Exception {
        if (batch < 1) {
            throw new UserException("--batch must be at least 1, got " + batch);
        }
        if (minConfidence != null && !(minConfidence > 0 && minConfidence < 1)) {
            throw new UserException("--min-confidence must be between 0 and 1 (exclusive), got " + minConfidence);
        }
        boolean json = false;
        if (out != null) {
            String ext = ImageFolder.extension(out.getFileName().toString());
            if (!ext.equals("csv") && !ext.equals("json")) {
                throw new UserException(out + ": output must end in .csv or .json");
            }
            json = ext.equals("json");
            OutFile.check(out, "predict --out");
        }
        Path modelDir = ModelDirs.resolve(model);
        try (Classifier c = Classifier.load(modelDir)) {
            engineOption.apply(c, modelDir, adaptBn ? "--adapt-bn" : null);
            if (channelsLast) {
                c.useChannelsLast();
            }
            if (adaptBn) {
                c.requireBatchNorm(); // before any image is decoded
            }
            ModelInput input = c.input();
            List<Path> files = collect(inputs, this::skip);
            if (files.isEmpty()) {
                throw new UserException("no image files found in " + inputs);
            }
            if (adaptBn) {
                adapted = adapt(c, input, files, decoded);
                System.err.println("wbc: BatchNorm statistics re-estimated on " + adapted + " of the input images (--adapt-bn)");
            }
            List<Prediction> predictions = predict(c, input, files);
            if (predictions.isEmpty()) {
                throw new UserException("none of the " + files.size() + " file(s) could be read as an image");
            }
            List<String> classes = c.metadata().classes();
            DifferentialCount count = count(c, predictions, minConfidence);
            if (out == null) {
                System.out.print(csv(classes, predictions, minConfidence));
                System.out.flush();
            } else if (json) {
                Json.write(out, json(model, classes, predictions, skipped, adapted, minConfidence, count));
            } else {
                AtomicFiles.writeString(out, csv(classes, predictions, minConfidence));
            }
            if (minConfidence != null) {
                long referred = predictions.stream().filter(p -> referred(p, minConfidence)).count();
                System.err.printf(java.util.Locale.ROOT, "wbc: %d of %d image(s) referred for review (top probability"
                        + " below %s)%n", referred, predictions.size(), minConfidence);
            }
            if (out != null) {
                System.err.println("wbc: " + predictions.size() + " of " + files.size() + " image(s) classified; written to " + out);
            }
            if (predictions.size() > 1) {
                System.err.print(count.text());
            }
            String warning = oodWarning(c.metadata(), count.flagged(), predictions.size());
            if (warning != null) {
                StrictOption.warn(warning);
            }
        }
        return 0;
    }

    /** The differential count of the classified images (all of them, whatever was referred or flagged). */
    static DifferentialCount count(Classifier c, List<Prediction> predictions, Double minConfidence) {
        int[] called = predictions.stream().mapToInt(Prediction::predicted).toArray();
        int referred = (int) predictions.stream().filter(p -> referred(p, minConfidence)).count();
        int flagged = (int) predictions.stream().filter(Prediction::outOfDistribution).count();
        return DifferentialCount.of(c.metadata().classes(), called, c.metadata().validationConfusionCounts(), referred,
                flagged);
    }

    /**
     * The one warning a batch gets when more of it than the model's set fraction looks unlike the
     * training images; null when it does not, or the model has no out-of-distribution score.
     */
    static String oodWarning(org.wbctransfer.model.ModelMetadata md, int flagged, int n) {
        if (md.ood() == null || !md.ood().warns(flagged, n)) {
            return null;
        }
        return String.format(Locale.ROOT, "%d of %d image(s) (%.0f %%) look out of distribution for this model (score"
                + " above the %.0fth percentile of its own held-out images; about %.0f %% expected): another microscope,"
                + " stain, scale or not a white-cell crop? Their answers are not to be trusted; 'wbc adapt' fits the model"
                + " to a new lab with a few labelled cells", flagged, n, 100.0 * flagged / n, md.ood().percentile(),
                100 - md.ood().percentile());
    }

    private List<Prediction> predict(Classifier c, ModelInput input, List<Path> files) {
        List<Prediction> result = new ArrayList<>();
        float[] buf = new float[batch * input.floats()];
        List<Pending> pending = new ArrayList<>();
        List<Skipped> held = new ArrayList<>();
        List<String> heldNotes = new ArrayList<>();
        ProgressBar bar = !progress.bars() ? null : new ProgressBarBuilder().setTaskName("predict").setInitialMax(files.size())
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500)
                .setConsumer(new ConsoleProgressBarConsumer(System.err)).continuousUpdate().build();
        try {
            for (int i = 0; i < files.size(); i++) {
                Path f = files.get(i);
                try {
                    float[] ready = decoded.remove(i);
                    BufferedImage image = null;
                    String small;
                    if (ready != null) {
                        small = smallImages.remove(i);
                    } else {
                        image = input.read(f);
                        small = ImageDecoder.smallImageWarning(image, input.size());
                    }
                    if (small != null) {
                        if (bar == null) {
                            StrictOption.warn(f + ": " + small);
                        } else {
                            heldNotes.add(f + ": " + small);
                        }
                    }
                    pending.add(new Pending(f.toString(), image, ready));
                } catch (ImageDecoder.BadImageException e) {
                    if (strictOption.strict) {
                        throw new UserException(f + ": " + e.getMessage());
                    }
                    skipped.add(new Skipped(f, e.getMessage()));
                    if (bar == null) {
                        StrictOption.warn(f + ": " + e.getMessage());
                    } else {
                        // A line printed under a live bar would be glued to the bar's last redraw.
                        held.add(new Skipped(f, e.getMessage()));
                    }
                }
                if (bar != null) {
                    bar.step();
                }
                if (pending.size() == batch) {
                    flush(c, input, buf, pending, result);
                }
            }
            flush(c, input, buf, pending, result);
        } finally {
            if (bar != null) {
                bar.close();
            }
            held.forEach(w -> StrictOption.warn(w.file() + ": " + w.problem()));
            heldNotes.forEach(StrictOption::warn);
        }
        return result;
    }

    /**
     * Decodes the adaptation sample of the inputs (unreadable ones are left for {@link #predict} to
     * report), keeps them for prediction, and re-estimates the model's BatchNorm statistics on them.
     */
    private int adapt(Classifier c, ModelInput input, List<Path> files, Map<Integer, float[]> decoded) {
        List<float[]> images = new ArrayList<>();
        List<Integer> positions = new ArrayList<>();
        List<BufferedImage> read = new ArrayList<>();
        for (int i : Classifier.adaptationSample(files.size())) {
            try {
                BufferedImage image = input.read(files.get(i));
                String small = ImageDecoder.smallImageWarning(image, input.size());
                if (small != null) {
                    smallImages.put(i, small);
                }
                positions.add(i);
                read.add(image);
            } catch (ImageDecoder.BadImageException e) {
                // predict() warns about it in input order
            }
            if (read.size() == batch) {
                images.addAll(normalize(input, positions, read, decoded));
            }
        }
        images.addAll(normalize(input, positions, read, decoded));
        c.adaptBatchNorm(images);
        return images.size();
    }

    /** Frames the images together, keeps each one's input floats under its file position, and empties both lists. */
    private static List<float[]> normalize(ModelInput input, List<Integer> positions, List<BufferedImage> read,
            Map<Integer, float[]> decoded) {
        List<BufferedImage> framed = input.frameAll(read);
        List<float[]> out = new ArrayList<>(framed.size());
        for (int k = 0; k < framed.size(); k++) {
            float[] x = new float[input.floats()];
            input.normalizeFramed(framed.get(k), x, 0);
            decoded.put(positions.get(k), x);
            out.add(x);
        }
        positions.clear();
        read.clear();
        return out;
    }

    /**
     * Classifies the pending inputs as one batch and empties the list; their images are framed
     * together, so that a cell-crop model's segmenter runs once over the batch, not once per image.
     */
    private static void flush(Classifier c, ModelInput input, float[] buf, List<Pending> pending, List<Prediction> result) {
        if (pending.isEmpty()) {
            return;
        }
        int per = input.floats();
        java.util.Iterator<BufferedImage> framed = input.frameAll(
                pending.stream().map(Pending::image).filter(java.util.Objects::nonNull).toList()).iterator();
        for (int i = 0; i < pending.size(); i++) {
            float[] ready = pending.get(i).ready();
            if (ready != null) {
                System.arraycopy(ready, 0, buf, i * per, per);
            } else {
                input.normalizeFramed(framed.next(), buf, i * per);
            }
        }
        Classifier.Scored s = c.scored(buf, pending.size(), input.size(), false);
        double[] ood = c.oodScore(s);
        for (int i = 0; i < pending.size(); i++) {
            float[] p = s.probabilities()[i];
            double score = ood == null ? Double.NaN : ood[i];
            result.add(new Prediction(pending.get(i).name(), Classifier.argMax(p), p, score,
                    ood != null && c.outOfDistribution(score)));
        }
        pending.clear();
    }

    /** A missing or unreadable input: a warning and an entry in the record, or with --strict an error. */
    private void skip(Path file, String problem) {
        if (strictOption.strict) {
            throw new UserException(file + ": " + problem);
        }
        skipped.add(new Skipped(file, problem));
        StrictOption.warn(file + ": " + problem);
    }

    /**
     * Files in argument order, each folder's images in sorted order, duplicates dropped. A missing
     * path is a warning like an unreadable image, so one typo does not throw away a long batch.
     */
    static List<Path> collect(List<Path> inputs, java.util.function.BiConsumer<Path, String> onProblem) throws IOException {
        Set<Path> seen = new LinkedHashSet<>();
        List<Path> out = new ArrayList<>();
        for (Path in : inputs) {
            if (!Files.exists(in)) {
                onProblem.accept(in, ImageFolder.whyMissing(in));
                continue;
            }
            List<Path> found = new ArrayList<>();
            if (Files.isDirectory(in)) {
                found.addAll(ImageFolder.findImages(in, (f, why) -> onProblem.accept(f, "cannot read (" + why + ")"),
                        onProblem));
            } else {
                found.add(in); // named explicitly: let the decoder judge the content, whatever the extension
            }
            for (Path f : found) {
                if (seen.add(f.toAbsolutePath().normalize())) {
                    out.add(f);
                }
            }
        }
        return out;
    }

    /** The answer "refer" stands for: below the confidence floor, a person decides. */
    static final String REFER = "refer";

    static boolean referred(Prediction p, Double minConfidence) {
        return minConfidence != null && p.probabilities()[p.predicted()] < minConfidence;
    }

    static String answer(List<String> classes, Prediction p, Double minConfidence) {
        return referred(p, minConfidence) ? REFER : classes.get(p.predicted());
    }

    static String csv(List<String> classes, List<Prediction> predictions, Double minConfidence) {
        StringBuilder sb = new StringBuilder("file,predicted,probability");
        classes.forEach(c -> sb.append(",p_").append(c));
        boolean ood = !predictions.isEmpty() && !Double.isNaN(predictions.get(0).ood());
        if (ood) {
            sb.append(',').append(Evaluation.OOD_SCORE).append(',').append(Evaluation.OOD_FLAG);
        }
        sb.append('\n');
        for (Prediction p : predictions) {
            sb.append(csvField(p.file())).append(',').append(answer(classes, p, minConfidence)).append(',')
                    .append(format(p.probabilities()[p.predicted()]));
            for (float v : p.probabilities()) {
                sb.append(',').append(format(v));
            }
            if (ood) {
                sb.append(',').append(String.format(Locale.ROOT, "%.6g", p.ood())).append(',').append(p.outOfDistribution());
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static Map<String, Object> json(Path model, List<String> classes, List<Prediction> predictions,
            List<Skipped> skipped, int adapted, Double minConfidence, DifferentialCount count) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Prediction p : predictions) {
            Map<String, Object> probs = new LinkedHashMap<>();
            for (int k = 0; k < classes.size(); k++) {
                probs.put(classes.get(k), (double) p.probabilities()[k]);
            }
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("file", p.file());
            row.put("predicted", answer(classes, p, minConfidence));
            if (minConfidence != null) {
                row.put("mostLikely", classes.get(p.predicted()));
            }
            row.put("probability", (double) p.probabilities()[p.predicted()]);
            row.put("probabilities", probs);
            if (!Double.isNaN(p.ood())) {
                row.put("oodScore", p.ood());
                row.put("outOfDistribution", p.outOfDistribution());
            }
            rows.add(row);
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("model", model.toAbsolutePath().normalize().toString());
        doc.put("classes", classes);
        if (minConfidence != null) {
            doc.put("minConfidence", minConfidence);
        }
        if (adapted > 0) {
            doc.put("adaptBn", Map.of("images", adapted));
        }
        doc.put("differentialCount", count.toMap());
        doc.put("predictions", rows);
        List<Map<String, Object>> left = new ArrayList<>();
        for (Skipped s : skipped) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("file", s.file().toString());
            row.put("problem", s.problem());
            left.add(row);
        }
        doc.put("skipped", left);
        return doc;
    }

    static String format(float p) {
        return String.format(Locale.ROOT, "%.6f", p);
    }

    /** RFC 4180 quoting, so file names with commas or quotes keep the columns aligned. */
    private static String csvField(String s) {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) {
            return s;
        }
        return '"' + s.replace("\"", "\"\"") + '"';
    }

}
