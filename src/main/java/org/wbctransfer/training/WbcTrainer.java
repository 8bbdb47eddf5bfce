package org.wbctransfer.training;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.config.Subset;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.ColourStandard;
import org.wbctransfer.data.Framing;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.Batch;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.Normalization;
import org.wbctransfer.data.SplitData;
import org.wbctransfer.data.SplitManifest;
import org.wbctransfer.evaluation.ClassificationMetrics;
import org.wbctransfer.evaluation.ConfusionMatrix;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.model.BackboneBundle;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.Devices;
import org.wbctransfer.model.Formats;
import org.wbctransfer.model.CellCrop;
import org.wbctransfer.model.ModelMetadata;
import org.wbctransfer.model.Preprocessing;
import org.wbctransfer.model.Provenance;
import org.wbctransfer.model.ResNet18;
import org.wbctransfer.model.ResNetBackbone;
import org.wbctransfer.model.WeightInit;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;
import org.wbctransfer.util.Versions;

/**
 * Trains a ResNet-18 classifier on one training subset of a split. The trainer holds only
 * configuration; {@link #fit} produces a {@link Classifier}. Model selection uses a validation
 * carve-out of the training subset, never the test images.
 */
public final class WbcTrainer {

    private static final Logger LOG = LoggerFactory.getLogger(WbcTrainer.class);


    private final TrainConfig config;
    private final List<TrainingListener> listeners;
    private final boolean strict;
    private final boolean channelsLast;

    /**
     * @param strict an image of the split that cannot be decoded (training, validation or test)
     *     is a {@link UserException} raised before anything is written, instead of being skipped
     *     and listed in provenance.json
     * @param channelsLast feed the network its batches in channels-last memory, so that PyTorch
     *     runs every convolution, forward and backward, in that format. It changes speed, not the
     *     recipe (results differ by float rounding only), so it is not part of {@link TrainConfig}
     *     and a resumed run may switch it; provenance.json records what the run started with.
     */
    public WbcTrainer(TrainConfig config, List<TrainingListener> listeners, boolean strict, boolean channelsLast) {
        config.validate();
        this.config = config;
        this.listeners = List.copyOf(listeners);
        this.strict = strict;
        this.channelsLast = channelsLast;
        if (channelsLast) {
            Formats.requireChannelsLast(config.imageSize());
        }
    }

    /** Training images, and the validation images carved out of them (empty when none). */
    public record Partition(List<SplitManifest.Entry> train, List<SplitManifest.Entry> validation, String selection) {}

    /**
     * Holds out valPercent of each class (seeded) for model selection when the subset is large
     * enough; a tiny subset keeps every image for training and uses the last epoch.
     */
    public static Partition partition(SplitManifest manifest, String subset, int valPercent, int minValSubset, long seed) {
        List<SplitManifest.Entry> all = manifest.train(subset);
        if (valPercent == 0 || all.size() < minValSubset) {
            return new Partition(all, List.of(), "last epoch of a fixed schedule (subset of " + all.size()
                    + " images is below " + minValSubset + ", too small for a validation carve-out)");
        }
        List<SplitManifest.Entry> train = new ArrayList<>();
        List<SplitManifest.Entry> val = new ArrayList<>();
        for (String cls : manifest.classNames()) {
            List<SplitManifest.Entry> c = new ArrayList<>(all.stream().filter(e -> e.className().equals(cls)).toList());
            c.sort(Comparator.comparing(SplitManifest.Entry::relativePath));
            Collections.shuffle(c, new Random(seed * 31 + cls.hashCode()));
            int nVal = c.size() * valPercent / 100;
            val.addAll(c.subList(0, nVal));
            train.addAll(c.subList(nVal, c.size()));
        }
        return new Partition(train, val, "best validation macro F1 on a " + valPercent
                + " % stratified carve-out of the training subset (" + val.size() + " images)");
    }

    /**
     * A refit's images: the whole budget, the validation carve-out included, for the fixed
     * schedule of {@code config.epochs()} chosen on that carve-out; the last epoch is kept.
     */
    static Partition refitPartition(SplitManifest manifest, TrainConfig config) {
        List<SplitManifest.Entry> all = manifest.train(config.subset());
        return new Partition(all, List.of(), "refit: last epoch of " + config.epochs() + " on the whole budget ("
                + all.size() + " images, the validation carve-out included), the epoch count chosen on that carve-out ("
                + config.refit() + "); no validation figures");
    }

    /**
     * Trains (or resumes) into {@code runDir}, then reads the test split once with the chosen
     * model and records the evaluation: the one path of {@code wbc train} and the experiment grid.
     */
    public Evaluation.Result fitThenTest(Path runDir, boolean resume) throws IOException {
        try (Classifier model = fit(runDir, resume)) {
            return Evaluation.testSplit(model, config, runDir, strict);
        }
    }

    public Classifier fit(Path runDir, boolean resume) throws IOException {
        return fit(runDir, resume, true);
    }

    /** What provenance.json records of a run that never opened its split's test images. */
    public static final String TEST_NOT_READ = "not read: a search run, its model selected on the validation"
            + " carve-out alone; no test image was decoded, not even into the cache";

    /**
     * Trains (or resumes) into {@code runDir}. With {@code readTest} false no test image of the
     * split is opened (the cache holds the training images only) and provenance.json says so
     * ({@link #TEST_NOT_READ}): the training of a search, whose candidates are ranked on the
     * validation carve-out.
     */
    public Classifier fit(Path runDir, boolean resume, boolean readTest) throws IOException {
        Engine.getInstance().setRandomSeed((int) config.seed());
        RunDir run = RunDir.of(runDir);
        if (resume) {
            run.resumeConfig();
        } else {
            run.requireNoRun();
        }
        // Data problems surface before anything is written to the run directory.
        Path root = Path.of(config.dataRoot());
        SplitManifest manifest = SplitManifest.read(Path.of(config.manifest()));
        CellCrop cellCrop = config.cellCrop() == null ? null : CellCrop.load(Path.of(config.cellCrop()));
        try {
            return fit(run, runDir, resume, readTest, root, manifest, cellCrop);
        } catch (IOException | RuntimeException | Error e) {
            if (cellCrop != null) {
                cellCrop.close();
            }
            throw e;
        }
    }

    private Classifier fit(RunDir run, Path runDir, boolean resume, boolean readTest, Path root, SplitManifest manifest,
            CellCrop cellCrop) throws IOException {
        Framing framing = Framing.chain(cellCrop, config.colourStandard() ? ColourStandard.INSTANCE : null);
        SplitData data = readTest ? SplitData.open(root, manifest, config.imageSize(), framing, Path.of(config.cacheDir()))
                : SplitData.openTraining(root, manifest, config.imageSize(), framing, Path.of(config.cacheDir()));
        Partition part = config.refit() != null ? refitPartition(manifest, config)
                : partition(manifest, config.subset(), config.valPercent(), config.minValSubset(), config.seed());
        List<String> skipped = new ArrayList<>();
        List<BatchLoader.Sample> trainSamples = data.samples(part.train(), skipped);
        List<BatchLoader.Sample> valSamples = data.samples(part.validation(), skipped);
        Map<String, Object> pseudo = null;
        if (config.pseudoTeacher() != null) {
            PseudoLabels.Result pl = PseudoLabels.label(Path.of(config.pseudoTeacher()), data, config.subset(),
                    config.imageSize(), config.pseudoThreshold(), skipped);
            LOG.info("self-training: {} of {} unlabelled training images pseudo-labelled by {} (threshold {})",
                    pl.samples().size(), pl.provenance().get("poolImages"), config.pseudoTeacher(), config.pseudoThreshold());
            trainSamples = new ArrayList<>(trainSamples);
            trainSamples.addAll(pl.samples());
            pseudo = pl.provenance();
        }
        List<String> skippedTest = new ArrayList<>();
        if (readTest) {
            data.samples(manifest.test(), skippedTest);
        }
        if (strict && !(skipped.isEmpty() && skippedTest.isEmpty())) {
            throw new UserException(skipped.isEmpty() ? skippedTest.get(0) : skipped.get(0));
        }
        for (String s : skipped) {
            org.wbctransfer.util.Warnings.warn(s + "; skipped");
        }
        // Unreadable test images are warned about once, by the test evaluation that leaves them out.
        if (trainSamples.size() < 2) {
            throw new UserException(config.manifest() + ": subset " + config.subset() + " has fewer than 2 usable training images");
        }
        Files.createDirectories(run.checkpoints());
        if (resume) {
            // A SIGKILL while a file was being written leaves its temp file behind; the previous
            // version of every file is intact (AtomicFiles), so the temp files are just litter.
            for (Path sub : List.of(runDir, run.checkpoints(), run.model(), run.testEval())) {
                for (Path p : org.wbctransfer.util.AtomicFiles.deleteStaleTemps(sub)) {
                    LOG.info("removed {} left by the interrupted run", p);
                }
            }
        }
        Normalization norm = Normalization.compute(data.pixels(trainSamples));
        int k = manifest.classNames().size();
        int[] counts = new int[k];
        trainSamples.forEach(s -> counts[s.label()]++);
        float[] weights = config.classWeighted() ? WeightedCrossEntropy.balancedWeights(counts) : ones(k);

        // Everything the run does not use is listed too, so that its numbers can be checked against the dataset.
        Provenance provenance = new Provenance(config.seed(), manifest.sha256(), manifest.seed(), manifest.groupBy(),
                Subset.canonical(config.subset()), trainSamples.size(), valSamples.size(), counts, pseudo, weights,
                skipped, skippedTest, manifest.skipped(), skipped.size() + skippedTest.size() + manifest.skipped().size(),
                part.selection(), Versions.all(), Devices.describe(Devices.compute()),
                channelsLast ? "channels-last" : "default", null, null, null, readTest ? null : TEST_NOT_READ);
        if (!resume) {
            Json.write(run.config(), config);
        }

        Model model = Model.newInstance("wbc-resnet18", Devices.compute());
        try {
            return train(runDir, resume, model,
                    new Prepared(manifest, data, part, trainSamples, valSamples, norm, weights, provenance, cellCrop));
        } catch (IOException | RuntimeException | Error e) {
            model.close();
            throw e;
        }
    }

    /** Data and bookkeeping a run needs, resolved before any network exists. */
    private record Prepared(SplitManifest manifest, SplitData data, Partition part, List<BatchLoader.Sample> trainSamples,
            List<BatchLoader.Sample> valSamples, Normalization norm, float[] weights, Provenance provenance,
            CellCrop cellCrop) {}

    private Classifier train(Path runDir, boolean resume, Model model, Prepared p) throws IOException {
        RunDir dir = RunDir.of(runDir);
        Provenance provenance = p.provenance();
        int k = p.manifest().classNames().size();
        int size = config.imageSize();
        Augmenter augmenter = new Augmenter(config.augmentation(), p.norm(), size);
        BatchLoader trainLoader = new BatchLoader(p.data().cache(), p.trainSamples(), augmenter, true, config.batchSize());
        BatchLoader valLoader = new BatchLoader(p.data().cache(), p.valSamples(), augmenter, false, 2 * config.batchSize());
        int stepsPerEpoch = trainLoader.batchesPerEpoch(true);
        ResNetBackbone backbone;
        if (config.init() != null) {
            backbone = BackboneBundle.load(Path.of(config.init()), model.getNDManager(), size);
            provenance = provenance.withPretraining(config.init(), BackboneBundle.readMetadata(Path.of(config.init())));
        } else {
            backbone = ResNet18.backbone(config.norm());
        }
        if (!resume) {
            Json.write(dir.provenance(), provenance);
        }
        SequentialBlock block = ResNet18.classifier(backbone, k);
        model.setBlock(block);
        block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, size, size));
        // A pre-trained backbone keeps its weights; only the new head is drawn from the seed.
        WeightInit.apply(config.init() != null ? ResNet18.headOf(block) : block, config.seed());
        Set<String> backboneIds = new HashSet<>();
        backbone.getParameters().forEach(pp -> backboneIds.add(pp.getValue().getId()));
        double backboneScale = config.effectiveBackboneLrScale();

        WarmupCosine schedule = new WarmupCosine(config.learningRate(),
                (int) Math.round(config.warmupEpochs() * stepsPerEpoch), config.epochs() * stepsPerEpoch,
                config.finalLrFraction(), id -> backboneIds.contains(id) ? backboneScale : 1.0);
        AdamW optimizer = AdamW.builder().optLearningRateTracker(schedule)
                .optWeightDecays((float) config.weightDecay()).build();
        TrainingRun run = new TrainingRun(config, List.copyOf(p.manifest().classNames()), p.trainSamples().size(),
                p.valSamples().size(), p.part().selection(), stepsPerEpoch, new TrainingRun.Best());

        // A sub-manager of the model's: should training fail before it is closed, closing the model frees it.
        WeightEma ema = config.emaDecay() > 0 ? new WeightEma(block, config.emaDecay(), model.getNDManager()) : null;
        int startEpoch = 0;
        if (resume && Files.isRegularFile(dir.last())) {
            Checkpoints.Progress done = Checkpoints.load(dir.last(), block, optimizer, ema, model.getNDManager());
            startEpoch = done.epochsDone();
            run.best().epoch = done.bestEpoch();
            run.best().score = done.bestScore();
            LOG.info("resuming {} after epoch {}", runDir, startEpoch);
        }
        SummaryCsv summary = SummaryCsv.resumed(dir.summary(), startEpoch);
        // The run's files first, then the caller's listeners: an epoch is on disk before it is reported.
        List<TrainingListener> all = new ArrayList<>(List.of(summary, new CheckpointListener(dir, block, optimizer, ema)));
        if (ema != null) {
            all.add(ema);
        }
        all.addAll(listeners);

        Losses losses = new Losses(new WeightedCrossEntropy(p.weights(), config.labelSmoothing()),
                new WeightedCrossEntropy(p.weights()));
        try (Trainer trainer = model.newTrainer(new DefaultTrainingConfig(losses.training())
                .optOptimizer(optimizer)
                .optDevices(new Device[] {model.getNDManager().getDevice()}));
             trainLoader; valLoader; ema) {
            all.forEach(l -> l.onTrainingBegin(run));
            for (int epoch = startEpoch; epoch < config.epochs(); epoch++) {
                int frozen = epoch < config.unfreezeEpoch() ? config.freezeStages() : 0;
                if (frozen != backbone.frozenStages()) {
                    backbone.setFrozenStages(frozen);
                    LOG.info("epoch {}: {} backbone stage(s) frozen", epoch + 1, frozen);
                }
                EpochResult r = runEpoch(run, trainer, block, losses, ema, trainLoader, valLoader, schedule, epoch, all);
                try {
                    all.forEach(l -> l.onEpochEnd(run, r));
                } catch (java.io.UncheckedIOException e) {
                    throw e.getCause(); // a checkpoint or the summary could not be written
                }
            }
            all.forEach(l -> l.onTrainingEnd(run));
        }
        if (Files.isRegularFile(dir.best())) {
            Checkpoints.load(dir.best(), block, null, model.getNDManager());
        }
        // Paths relative to where the command ran (as the user named them, usually the project root).
        Path cwd = Path.of("").toAbsolutePath();
        ModelMetadata md = new ModelMetadata(ModelMetadata.FORMAT, "resnet18", p.manifest().classNames(),
                List.of(3, size, size), p.norm(), config.relativeTo(cwd),
                provenance.withBestEpoch(run.best().epoch + 1).relativeTo(cwd, config.dataRoot()), null,
                ModelMetadata.INTENDED_USE, null);
        if (p.cellCrop() != null) {
            CellCrop.Info seg = p.cellCrop().info();
            md = md.withPreprocessing(md.preprocessing().withCellCrop(new Preprocessing.CellCropSpec(CellCrop.DIR,
                    seg.weightsSha256(), seg.size(), CellCrop.MARGIN)));
        }
        if (config.colourStandard()) {
            md = md.withPreprocessing(md.preprocessing().withColourStandard());
        }
        Classifier classifier = Classifier.of(model, block, md, p.cellCrop());
        classifier.save(dir.model());
        return classifier;
    }

    /**
     * The training loss (with label smoothing, when on) and the validation loss, never smoothed:
     * val_loss stays comparable between runs with and without it.
     */
    private record Losses(WeightedCrossEntropy training, WeightedCrossEntropy validation) {}

    private EpochResult runEpoch(TrainingRun run, Trainer trainer, SequentialBlock block, Losses losses, WeightEma ema,
            BatchLoader trainLoader, BatchLoader valLoader, WarmupCosine schedule, int epoch,
            List<TrainingListener> all) {
        int nb = trainLoader.batchesPerEpoch(true);
        all.forEach(l -> l.onEpochBegin(run, epoch, nb));
        long t0 = System.nanoTime();
        double[] lossSum = {0};
        long[] correct = {0};
        long[] seen = {0};
        NDArray[] logits = new NDArray[1];
        BatchMix mix = new BatchMix(config.mixup(), config.cutmix());
        // Seeded by epoch, as the loader's shuffling: a resumed run draws what the interrupted one would have.
        SplittableRandom rng = new SplittableRandom(config.seed() * 0x9E3779B97F4A7C15L + epoch);
        TrainLoop.epoch(trainer, trainLoader.epoch(config.seed(), epoch, true), (t, sub, batch) -> {
            NDArray x = images(sub, batch);
            NDArray labels = sub.create(batch.labels());
            if (!mix.on()) {
                logits[0] = t.forward(new NDList(format(x, channelsLast))).singletonOrThrow();
                return losses.training().evaluate(new NDList(labels), new NDList(logits[0]));
            }
            BatchMix.Mixed m = mix.apply(x, batch.labels(), rng);
            logits[0] = t.forward(new NDList(format(m.images(), channelsLast))).singletonOrThrow();
            return losses.training().mixed(logits[0], labels, sub.create(m.partners()), m.lambda());
        }, (bi, batch, value, batchMean) -> {
            lossSum[0] += value * batch.size();
            long[] pred = logits[0].argMax(1).toLongArray();
            // A mixed batch is scored against its own images' labels (y_a), so with mixup or CutMix
            // train_acc reads low: part of each image is another's.
            for (int i = 0; i < pred.length; i++) {
                if (pred[i] == batch.labels()[i]) {
                    correct[0]++;
                }
            }
            seen[0] += batch.size();
            double ml = lossSum[0] / seen[0];
            double acc = correct[0] / (double) seen[0];
            all.forEach(l -> l.onBatchEnd(run, epoch, bi, (int) seen[0], ml, acc));
        }, "epoch " + (epoch + 1));
        double trainSeconds = (System.nanoTime() - t0) / 1e9;
        double valLoss = Double.NaN;
        double valAcc = Double.NaN;
        double valF1 = Double.NaN;
        boolean best;
        if (valLoader.size() > 0) {
            double[] v;
            if (ema != null) {
                ema.swap();
            }
            try {
                v = validate(trainer, block, losses.validation(), valLoader, run.classNames(), channelsLast);
            } finally {
                if (ema != null) {
                    ema.swap();
                }
            }
            valLoss = v[0];
            valAcc = v[1];
            valF1 = v[2];
            // Ties go to the later epoch: with a decaying rate it has seen more updates.
            best = valF1 >= run.best().score;
            if (best) {
                run.best().score = valF1;
                run.best().epoch = epoch;
            }
        } else {
            best = true;
            run.best().epoch = epoch;
        }
        return new EpochResult(epoch + 1, schedule.at((epoch + 1) * nb), lossSum[0] / seen[0],
                correct[0] / (double) seen[0], valLoss, valAcc, valF1, seen[0] / trainSeconds, (System.nanoTime() - t0) / 1e9, best);
    }

    /** Returns {loss, accuracy, macro F1} on the validation images. */
    private static double[] validate(Trainer trainer, SequentialBlock block, WeightedCrossEntropy loss,
            BatchLoader loader, List<String> classNames, boolean channelsLast) {
        int n = loader.size();
        int[] truth = new int[n];
        int[] pred = new int[n];
        double lossSum = 0;
        for (Iterator<Batch> it = loader.epoch(0, 0, false); it.hasNext(); ) {
            Batch batch = it.next();
            try (NDManager sub = trainer.getManager().newSubManager()) {
                NDArray x = format(images(sub, batch), channelsLast);
                NDArray logits = block.forward(new ParameterStore(sub, false), new NDList(x), false).singletonOrThrow();
                lossSum += loss.evaluate(new NDList(sub.create(batch.labels())), new NDList(logits)).getFloat() * batch.size();
                long[] p = logits.argMax(1).toLongArray();
                for (int i = 0; i < batch.size(); i++) {
                    truth[batch.samples()[i]] = batch.labels()[i];
                    pred[batch.samples()[i]] = (int) p[i];
                }
            }
        }
        ClassificationMetrics m = ClassificationMetrics.compute(ConfusionMatrix.of(classNames, truth, pred), null, null);
        return new double[] {lossSum / n, m.accuracy(), m.macroF1()};
    }

    /** A batch's images as an (N, 3, S, S) array. */
    private static NDArray images(NDManager sub, Batch batch) {
        int s = batch.imageSize();
        return sub.create(FloatBuffer.wrap(batch.images()), new Shape(batch.size(), 3, s, s));
    }

    /**
     * The network's input in the memory format asked for. Channels-last input is enough: PyTorch
     * runs a convolution in channels-last when its input is, and BatchNorm, ReLU, pooling and the
     * residual additions keep the format, so the whole network follows. The weights stay in the
     * default format (checkpoints and bundles are unchanged); PyTorch reorders them per call.
     */
    private static NDArray format(NDArray x, boolean channelsLast) {
        return channelsLast ? Formats.channelsLast(x) : x;
    }

    private static float[] ones(int k) {
        float[] w = new float[k];
        java.util.Arrays.fill(w, 1f);
        return w;
    }
}
