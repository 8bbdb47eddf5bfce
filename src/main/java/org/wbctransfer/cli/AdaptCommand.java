package org.wbctransfer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import org.wbctransfer.config.Augmentation;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.ImageCache;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.evaluation.EvaluationReport;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.pretrain.UnlabeledImages;
import org.wbctransfer.training.FewShotTune;
import org.wbctransfer.training.HeadFit;
import org.wbctransfer.util.Hashing;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code wbc adapt}: a model for a new lab from a handful of that lab's labelled cells. The
 * BatchNorm statistics are re-estimated on all of the lab's images (labels unused), then the
 * linear head is refitted on the labelled ones (8 flips and right-angle turns of each), pulled
 * towards the head it starts from. By default the backbone's weights are not changed: a few dozen
 * cells cannot retrain 11 million weights, but they can move five decision boundaries; with
 * {@code --tune-stages} the last stages are fine-tuned after the head ({@link FewShotTune}). With
 * {@code --self-train} the head also learns from the lab's unlabelled cells ({@link HeadFit#selfTrain});
 * it is an option, not the default, because on the development source (wbc-seg Tecom) it did not help.
 */
@Command(name = "adapt", mixinStandardHelpOptions = true,
        description = "Adapt a model bundle to another lab's images with a few labelled cells per class: BatchNorm"
                + " statistics re-estimated on all the lab's images (no labels), then the classifier head refitted on"
                + " the labelled ones. With --shots K, K cells per class (seeded draw) adapt the model and the rest"
                + " of the folder is held out and evaluated.")
public final class AdaptCommand implements Callable<Integer> {

    /** File beside metadata.json recording how the bundle was adapted. */
    static final String ADAPTATION = "adaptation.json";

    @Parameters(index = "0", description = "Model bundle (from 'wbc export') or run directory")
    Path model;

    @Option(names = "--labelled", required = true, description = "The lab's labelled cells: class folders, or"
            + " images/ with labels.csv (image,label)")
    Path labelled;

    @Option(names = "--out", required = true, description = "The adapted bundle's folder (written atomically)")
    Path out;

    @Option(names = "--shots", description = "Cells per class used for adaptation (drawn with --seed); the rest are"
            + " held out and evaluated. Default: all labelled cells adapt, nothing is held out")
    Integer shots;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the --shots draw. Default: ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--no-adapt-bn", description = "Keep the source BatchNorm statistics; refit the head only")
    boolean noAdaptBn;

    @Option(names = "--steps", defaultValue = "300", description = "Full-batch Adam steps of the head fit. Default: ${DEFAULT-VALUE}")
    int steps;

    @Option(names = "--lr", defaultValue = "0.01", description = "Adam learning rate of the head fit (chosen between 0.001 and 0.01 on PBC's held-out cells with a WBC_10 model). Default: ${DEFAULT-VALUE}")
    double lr;

    @Option(names = "--pull", defaultValue = "0.001", description = "L2 weight pulling the head towards the source head."
            + " Default: ${DEFAULT-VALUE}")
    double pull;

    @Option(names = "--tune-stages", defaultValue = "0", description = "After the head fit, also fine-tune this many of"
            + " the backbone's last stages with the head (1: layer4 ... 4: layer1-layer4) on the labelled cells' views,"
            + " BatchNorm statistics kept. Default: ${DEFAULT-VALUE} (the head only)")
    int tuneStages;

    @Option(names = "--tune-steps", defaultValue = "100", description = "Adam steps of that fine-tuning, batches of 32"
            + " views. Default: ${DEFAULT-VALUE}")
    int tuneSteps;

    @Option(names = "--tune-lr", defaultValue = "1e-4", description = "Adam learning rate of that fine-tuning."
            + " Default: ${DEFAULT-VALUE}")
    double tuneLr;

    @Option(names = "--self-train", defaultValue = "0", paramLabel = "ROUNDS", description = "Rounds of curriculum"
            + " self-training of the head on the lab's unlabelled cells (those of --unlabelled and, with --shots, the"
            + " held-out ones, labels unused): round r adds the r/ROUNDS most confident of them with the head's call as"
            + " label and refits. Default: ${DEFAULT-VALUE} (off)")
    int selfTrain;

    @Option(names = "--unlabelled", description = "A folder of the lab's unlabelled images (searched recursively): their"
            + " BatchNorm statistics are read with the labelled ones', and --self-train learns from them")
    Path unlabelled;

    @Option(names = "--eval-out", description = "Reports on the held-out cells. Default: <out>-eval-heldout")
    Path evalOut;

    @Option(names = "--force", description = "Replace an existing non-empty bundle folder")
    boolean force;

    @Mixin
    CacheOption cacheOption;

    @Mixin
    StrictOption strictOption;

    /** Dihedral views per labelled cell: the eight a cell has no preference among. */
    private static final int VIEWS = 8;

    @Override
    public Integer call() throws Exception {
        if (shots != null && shots < 1) {
            throw new UserException("--shots must be at least 1, got " + shots);
        }
        if (steps < 1 || lr <= 0 || pull < 0) {
            throw new UserException("--steps must be >= 1, --lr > 0 and --pull >= 0");
        }
        if (selfTrain < 0) {
            throw new UserException("--self-train must be >= 0, got " + selfTrain);
        }
        if (unlabelled != null && !Files.isDirectory(unlabelled)) {
            throw new UserException(unlabelled + ": " + (Files.exists(unlabelled) ? "not a folder" : "no such folder"));
        }
        if (selfTrain > 0 && shots == null && unlabelled == null) {
            throw new UserException("--self-train needs unlabelled cells: give --unlabelled <folder>, or --shots"
                    + " (the held-out cells join it, labels unused)");
        }
        FewShotTune.Settings tune = tuneStages == 0 ? null : new FewShotTune.Settings(tuneStages, tuneSteps, tuneLr, 32);
        Path target = out.toAbsolutePath().normalize();
        if (Files.exists(target) && (!Files.isDirectory(target) || !force && !ExportCommand.isEmpty(target))) {
            throw new UserException(out + ": exists and is not an empty folder; use --force to replace it");
        }
        Path source = ModelDirs.resolve(model);
        try (Classifier c = ModelDirs.load(model)) {
            List<String> classes = c.metadata().classes();
            int size = c.metadata().imageSize();
            Evaluation.Labelled l = Evaluation.Labelled.load(c, labelled, cacheOption.dir, strictOption.strict,
                    StrictOption::warn);
            ImageCache cache = l.cache();
            List<BatchLoader.Sample> all = l.samples();
            List<List<BatchLoader.Sample>> byClass = new ArrayList<>();
            classes.forEach(k -> byClass.add(new ArrayList<>()));
            all.forEach(s -> byClass.get(s.label()).add(s));
            List<BatchLoader.Sample> adapt = new ArrayList<>();
            List<BatchLoader.Sample> heldOut = new ArrayList<>();
            Random rng = new Random(seed);
            for (int k = 0; k < classes.size(); k++) {
                List<BatchLoader.Sample> s = byClass.get(k);
                Collections.shuffle(s, rng);
                int take = shots == null ? s.size() : Math.min(shots, s.size());
                if (shots != null && take == s.size() && !s.isEmpty()) {
                    StrictOption.warn(labelled + ": class " + classes.get(k) + " has " + s.size()
                            + " cell(s), none left to hold out");
                }
                adapt.addAll(s.subList(0, take));
                heldOut.addAll(s.subList(take, s.size()));
            }
            if (adapt.isEmpty()) {
                throw new UserException(labelled + ": no readable labelled cell of the model's classes " + classes);
            }
            // GroupNorm and LayerNorm have no statistics to re-estimate, and the user did not ask for it by name.
            boolean batchNorm = c.metadata().norm() == TrainConfig.Norm.BATCH;
            if (!noAdaptBn && !batchNorm) {
                System.err.println("wbc: " + c.metadata().norm().layerName() + " model: no BatchNorm statistics to re-estimate;"
                        + " refitting the head only");
            }
            boolean bnStep = !noAdaptBn && batchNorm;
            // Only these two read --unlabelled: decoding a large folder nothing reads would cost minutes and suggest it mattered.
            boolean readUnlabelled = unlabelled != null && (bnStep || selfTrain > 0);
            if (unlabelled != null && !readUnlabelled) {
                StrictOption.warn(unlabelled + ": --unlabelled not read: no BatchNorm step ("
                        + (batchNorm ? "--no-adapt-bn" : c.metadata().norm().layerName() + " model") + ") and no --self-train");
            }
            List<byte[]> extra = readUnlabelled
                    ? UnlabeledImages.load(unlabelled, size, c.framing(), cacheOption.dir, strictOption.strict).pixels()
                    : List.of();
            int bnImages = 0;
            if (bnStep) {
                List<byte[]> lab = new ArrayList<>(cache.pixels(all));
                lab.addAll(extra);
                bnImages = Evaluation.adaptBatchNorm(c, lab);
            }

            Augmenter views = new Augmenter(new Augmentation(true, Augmentation.Rotation.RIGHT_ANGLE, 0, 0, 0, 0, 0, 0),
                    c.metadata().inputNormalization(), size);
            int per = 3 * size * size;
            float[] buf = new float[adapt.size() * VIEWS * per];
            int[] y = new int[adapt.size() * VIEWS];
            for (int i = 0; i < adapt.size(); i++) {
                for (int v = 0; v < VIEWS; v++) {
                    views.augment(cache.pixels(adapt.get(i).cacheIndex()), Augmenter.sampleSeed(seed, v, i), buf,
                            (i * VIEWS + v) * per);
                    y[i * VIEWS + v] = adapt.get(i).label();
                }
            }
            float[][] x = features(c, y.length, (from, n, chunk) -> System.arraycopy(buf, from * per, chunk, 0, n * per));
            float[][] head = c.head();
            HeadFit.Settings fit = new HeadFit.Settings(steps, lr, pull);
            Map<String, Object> selfTrained = null;
            if (selfTrain > 0) {
                List<byte[]> pool = new ArrayList<>(cache.pixels(heldOut));
                pool.addAll(extra);
                if (pool.isEmpty()) {
                    throw new UserException("--self-train: no unlabelled cell to learn from (nothing held out, no --unlabelled)");
                }
                HeadFit.SelfTrained st = HeadFit.selfTrain(x, y, plainFeatures(c, pool), head[0], head[1], fit, selfTrain);
                c.setHead(st.head()[0], st.head()[1]);
                selfTrained = new LinkedHashMap<>();
                selfTrained.put("rounds", selfTrain);
                selfTrained.put("unlabelledCells", pool.size());
                selfTrained.put("heldOutCellsAmongThem", heldOut.size());
                Map<String, Integer> calls = new LinkedHashMap<>();
                for (int k = 0; k < classes.size(); k++) {
                    calls.put(classes.get(k), st.pseudoLabelsPerClass()[k]);
                }
                selfTrained.put("lastRoundCalls", calls);
                System.err.println("wbc: self-trained the head on " + pool.size() + " unlabelled cell(s), " + selfTrain
                        + " round(s); last round's calls " + calls);
            } else {
                float[][] fitted = HeadFit.fit(x, y, head[0], head[1], fit);
                c.setHead(fitted[0], fitted[1]);
            }
            if (tune != null) {
                double[] tuned = FewShotTune.run(c, buf, y, size, tune, seed);
                System.err.printf(Locale.ROOT, "wbc: fine-tuned the last %d stage(s) and the head, %d steps: loss %.3f -> %.3f%n",
                        tune.stages(), tune.steps(), tuned[0], tuned[1]);
            }

            Map<String, Object> record = new LinkedHashMap<>();
            record.put("source", source.toString());
            record.put("sourceWeightsSha256", Hashing.sha256(source.resolve(Classifier.WEIGHTS)));
            record.put("labelled", labelled.toAbsolutePath().normalize().toString());
            record.put("shotsPerClass", shots);
            record.put("seed", seed);
            record.put("adaptationCells", adapt.size());
            record.put("batchNormImages", bnImages);
            record.put("headFit", Map.of("steps", steps, "learningRate", lr, "pullToInit", pull, "views", VIEWS));
            if (selfTrained != null) {
                record.put("selfTraining", selfTrained);
            }
            if (tune != null) {
                record.put("fineTune", tune);
            }
            Map<String, Object> metrics = new LinkedHashMap<>();
            if (!heldOut.isEmpty()) {
                Path eo = evalOut != null ? evalOut : target.resolveSibling(target.getFileName() + "-eval-heldout");
                String title = "Adapted ResNet-18 on the held-out cells of " + labelled + " (" + heldOut.size()
                        + " images; " + adapt.size() + " cells adapted" + (bnImages > 0 ? ", BatchNorm statistics"
                        + " re-estimated on " + bnImages + " images" : "") + ")";
                Evaluation.Result r = Evaluation.run(c, cache, heldOut, false);
                Evaluation.write(r, Evaluation.paths(cache, heldOut), List.of(), eo, title);
                System.out.println(EvaluationReport.toText(r.metrics(), title));
                System.out.println("evaluation written to " + eo);
                metrics.put("heldOutAccuracy", r.metrics().accuracy());
                metrics.put("heldOutMacroF1", r.metrics().macroF1());
                metrics.put("heldOutImages", heldOut.size());
                record.put("heldOut", metrics);
            }
            org.wbctransfer.util.AtomicFiles.writeFolder(target, tmp -> {
                // The source's test metrics describe the unadapted model; the held-out figures replace them.
                // Its out-of-distribution score and validation confusion describe the source lab too:
                // kept, the score would flag every image of the lab the model was adapted to.
                c.withMetadata(c.metadata().withMetrics(metrics).withOod(null).withValidationConfusion(null))
                        .withDetector(null).save(tmp);
                Json.write(tmp.resolve(ADAPTATION), record);
            });
            System.out.printf(Locale.ROOT, "adapted bundle written to %s (%d labelled cells, %d held out)%n", out,
                    adapt.size(), heldOut.size());
        }
        return 0;
    }

    /** Pooled features of the plain (unaugmented) images, as the held-out evaluation reads them. */
    private static float[][] plainFeatures(Classifier c, List<byte[]> pixels) {
        int per = 3 * c.metadata().imageSize() * c.metadata().imageSize();
        Augmenter plain = Evaluation.plain(c);
        return features(c, pixels.size(), (from, n, chunk) -> {
            for (int i = 0; i < n; i++) {
                plain.plain(pixels.get(from + i), chunk, i * per);
            }
        });
    }

    /** Writes images {@code from .. from + n - 1}, normalized NCHW, at the start of {@code chunk}. */
    private interface Images {
        void fill(int from, int n, float[] chunk);
    }

    /** The pooled features of {@code count} images, 64 at a time, so that no more than 64 sit in memory as floats. */
    private static float[][] features(Classifier c, int count, Images images) {
        int size = c.metadata().imageSize();
        float[][] out = new float[count][];
        for (int from = 0; from < count; from += 64) {
            int n = Math.min(64, count - from);
            float[] chunk = new float[n * 3 * size * size];
            images.fill(from, n, chunk);
            System.arraycopy(c.features(chunk, n, size), 0, out, from, n);
        }
        return out;
    }
}
