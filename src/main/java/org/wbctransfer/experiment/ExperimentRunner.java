package org.wbctransfer.experiment;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.wbctransfer.config.Defaults;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.config.Subset;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.ImageFolder;
import org.wbctransfer.data.SplitData;
import org.wbctransfer.data.SplitManifest;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.model.BackboneBundle;
import org.wbctransfer.model.CellCrop;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.pretrain.Pretrainer;
import org.wbctransfer.pretrain.Recipe;
import org.wbctransfer.training.ProgressListener;
import org.wbctransfer.training.TrainingListener;
import org.wbctransfer.training.WbcTrainer;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;

/**
 * Runs an experiment grid cell by cell into {@code <out>/<arm>/<subset>-seed<seed>/} (with several
 * split seeds {@code <subset>-split<k>-seed<seed>/}), one split manifest per split seed and one
 * pre-trained backbone per (recipe, training seed), shared by every split: pre-training reads no
 * image of the classification data. Split seeds run in the file's order, each split's arms in
 * order (a teacher before its students). Finished cells (those with test metrics) are skipped and
 * interrupted ones resumed from their last checkpoint, so rerunning the same command after a crash
 * or a kill continues the grid.
 *
 * <p>In a search ({@link ExperimentSpec#searching()}) no cell reads a test image: each trains with
 * its split's training images alone ({@link WbcTrainer#fit(Path, boolean, boolean)}), is finished
 * once its model is saved, and is ranked on its validation carve-out ({@link SearchTable}); outside
 * sets are not scored either. A refit arm ({@code refit:}) retrains an earlier arm's cell on the
 * whole budget for that cell's best epoch.
 */
public final class ExperimentRunner {

    private static final Logger LOG = LoggerFactory.getLogger(ExperimentRunner.class);
    /**
     * Images/s of whole training epochs at 64 px on the idle 2-core development machine (270-290
     * in the cpu grid's epochs, 2026-11-26; with 200 here that grid was estimated at 133 min and
     * took 92).
     */
    static final double TRAIN_IMAGES_PER_S_AT_64 = 270;

    public static final String SPEC = "experiment.json";

    private final ExperimentSpec spec;
    private final Path out;
    private final Path cacheDir;
    private final boolean progress;
    private final boolean strict;
    /** Set once a strict runner has found every input file usable. */
    private boolean inputChecked;

    /**
     * @param strict the first input file that cannot be used (an image of the dataset that does not
     *     decode, a non-image file or an empty class folder, an unusable pre-training image) is a
     *     {@link org.wbctransfer.util.UserException} instead of being skipped; the dataset is
     *     checked as a whole before the first cell, so a bad image stops the grid before any cell
     *     trains, not when the first cell that uses it comes up
     */
    public ExperimentRunner(ExperimentSpec spec, Path out, Path cacheDir, boolean progress, boolean strict) {
        this.spec = spec;
        this.out = out;
        this.cacheDir = cacheDir;
        this.progress = progress;
        this.strict = strict;
    }

    /** A planned training run. */
    public record Plan(ExperimentSpec.Arm arm, String subset, long splitSeed, long seed, int epochs, Path runDir) {

        public Cell cell() {
            return new Cell(arm.name(), subset, splitSeed, seed, runDir);
        }
    }

    public Path dataRoot() {
        return Path.of(spec.data() != null ? spec.data() : Defaults.DATA);
    }

    public List<Plan> plan() {
        List<Plan> plans = new ArrayList<>();
        for (long split : spec.splits()) {
            for (ExperimentSpec.Arm arm : spec.arms()) {
                for (Map.Entry<String, ExperimentSpec.SubsetPlan> e : spec.subsets().entrySet()) {
                    String subset = Subset.canonical(e.getKey());
                    if (!arm.runs(subset)) {
                        continue;
                    }
                    int epochs = epochs(arm, e.getValue());
                    for (long seed : e.getValue().seeds()) {
                        plans.add(new Plan(arm, subset, split, seed, epochs, cellDir(arm.name(), subset, split, seed)));
                    }
                }
            }
        }
        return plans;
    }

    /**
     * A cell's planned epochs; a refit's is at most that of the cell it refits (its best epoch),
     * which is what the plan and the estimate count.
     */
    private int epochs(ExperimentSpec.Arm arm, ExperimentSpec.SubsetPlan subset) {
        if (arm.refit() != null) {
            return epochs(spec.arms().stream().filter(a -> a.name().equals(arm.refit())).findFirst().orElseThrow(), subset);
        }
        return arm.epochs() != null ? arm.epochs()
                : (int) Math.round(subset.epochs() * (arm.epochsScale() != null ? arm.epochsScale() : 1.0));
    }

    /**
     * Whether a cell needs no more training: tested, or in a search, its model saved (a search
     * cell is never tested).
     */
    boolean finished(Plan p) {
        RunDir run = RunDir.of(p.runDir());
        return run.state() == RunDir.State.FINISHED
                || spec.searching() && Files.isRegularFile(run.model().resolve(Classifier.METADATA));
    }

    /** Rough wall time in minutes from images to process and the measured step throughput. */
    public double estimateMinutes(SplitManifest manifest) {
        double perImage = 1.0 / (TRAIN_IMAGES_PER_S_AT_64 * Math.pow(64.0 / spec.size(), 2)
                * Runtime.getRuntime().availableProcessors() / 2.0);
        double seconds = 0;
        for (Plan p : plan()) {
            if (!finished(p)) {
                // A self-training run also learns from the pool (all but the budget's images would
                // be the worst case; the threshold drops a few).
                int images = manifest.train(p.arm().teacher() != null ? "WBC_100" : p.subset()).size();
                seconds += p.epochs() * images * perImage * 1.1 + 15;
            }
        }
        for (Map.Entry<String, TreeSet<Long>> e : pretrainSeeds().entrySet()) {
            List<Recipe.StageSpec> stages = Recipe.load(e.getKey()).stages();
            for (int i = 0; i < stages.size(); i++) {
                Recipe.StageSpec s = stages.get(i);
                int images = s.maxImages() != null && s.maxImages() > 0 ? s.maxImages() : s.type().typicalImages();
                double factor = s.type().relativeCost();
                for (long seed : e.getValue()) {
                    Path bundle = Pretrainer.stageBundle(pretrainDir(e.getKey(), seed), i, s);
                    if (!Files.isRegularFile(bundle.resolve(BackboneBundle.METADATA))) {
                        seconds += (s.epochs() != null ? s.epochs() : 5) * images * factor * perImage;
                    }
                }
            }
        }
        return seconds / 60;
    }

    /**
     * The rough estimate of what is left, scaled by this run's own pace once it has done enough
     * to measure one (a few minutes of estimated work): a loaded or faster machine shows up there.
     */
    static double minutesLeft(double initialEstimate, double remainingEstimate, double elapsedMinutes) {
        double doneEstimate = initialEstimate - remainingEstimate;
        if (doneEstimate < 2 || elapsedMinutes <= 0) {
            return remainingEstimate;
        }
        return remainingEstimate * elapsedMinutes / doneEstimate;
    }

    /** Pre-training recipes and the seeds each must run with. */
    Map<String, TreeSet<Long>> pretrainSeeds() {
        Map<String, TreeSet<Long>> m = new LinkedHashMap<>();
        for (Plan p : plan()) {
            if (p.arm().pretrain() != null) {
                m.computeIfAbsent(p.arm().pretrain(), k -> new TreeSet<>()).add(p.seed());
            }
        }
        return m;
    }

    public Path pretrainDir(String recipe, long seed) {
        String name = Path.of(recipe).getFileName().toString().replaceFirst("\\.ya?ml$", "");
        return out.resolve("pretrain").resolve(name + "-seed" + seed);
    }

    public Path manifestPath(long split) {
        return out.resolve("split-seed" + split + ".csv");
    }

    /** The manifest of a split seed, drawn on first use. */
    public SplitManifest manifest(long split) throws IOException {
        Path m = manifestPath(split);
        if (!Files.isRegularFile(m)) {
            if (strict && !inputChecked && !spec.searching()) {
                // Decodes every image (into the cache training reads) and stops at the first that
                // fails, before the manifest or anything else is written.
                SplitData.draw(dataRoot(), split, spec.groupPattern(), spec.size(), cacheDir, true, w -> { }).write(m);
                inputChecked = true;
            } else {
                SplitManifest.create(ImageFolder.scan(dataRoot(), strict), split, spec.groupPattern()).write(m);
            }
        }
        SplitManifest manifest = SplitManifest.read(m);
        if (strict && !inputChecked) {
            checkInput(manifest, m);
            inputChecked = true;
        }
        return manifest;
    }

    /** The first split's manifest: image counts for the estimate and the strict input check. */
    public SplitManifest manifest() throws IOException {
        return manifest(spec.splits().get(0));
    }

    /**
     * Strict check of a grid whose manifest already exists (a rerun), or of a search's fresh one:
     * the folder as a strict split would see it, the files the manifest records as skipped, and a
     * decode of every entry (of every training entry in a search).
     */
    private void checkInput(SplitManifest manifest, Path manifestFile) throws IOException {
        Path root = dataRoot();
        ImageFolder.scan(root, true);
        if (!manifest.skipped().isEmpty()) {
            throw new UserException(root.resolve(manifest.skipped().get(0)) + " (recorded as skipped in " + manifestFile + ")");
        }
        // A search decodes its training images alone: the test split's are never opened.
        SplitData data = spec.searching() ? SplitData.openTraining(root, manifest, spec.size(), null, cacheDir)
                : SplitData.open(root, manifest, spec.size(), cacheDir);
        List<String> unreadable = new ArrayList<>();
        data.samples(manifest.entries().stream().filter(e -> !spec.searching() || !e.test()).toList(), unreadable);
        if (!unreadable.isEmpty()) {
            throw new UserException(unreadable.get(0));
        }
    }

    /**
     * Which part of the grid a process runs: split seeds, arms and budgets (an empty list means all).
     * Parts let several processes share a grid, and let a long grid run its most wanted cells first.
     */
    public record Part(List<Long> splits, List<String> arms, List<String> subsets) {

        public boolean contains(Plan p) {
            return (splits.isEmpty() || splits.contains(p.splitSeed()))
                    && (arms.isEmpty() || arms.contains(p.arm().name()))
                    && (subsets.isEmpty() || subsets.contains(p.subset()));
        }
    }

    /** The cells of one part of the grid, in the grid's order; a part naming what the grid lacks is refused. */
    public List<Plan> plan(Part part) {
        List<Plan> all = plan();
        refuseUnknown("split seeds", part.splits(), all.stream().map(Plan::splitSeed).distinct().toList());
        refuseUnknown("arms", part.arms(), spec.arms().stream().map(ExperimentSpec.Arm::name).toList());
        refuseUnknown("budgets", part.subsets(), all.stream().map(Plan::subset).distinct().toList());
        return all.stream().filter(part::contains).toList();
    }

    private static <T> void refuseUnknown(String what, List<T> asked, List<T> known) {
        if (!known.containsAll(asked)) {
            throw new UserException(what + " " + asked + " are not among the experiment's " + known);
        }
    }

    /**
     * Runs the unfinished cells of one part of the grid (several processes can each take another
     * part, a pre-training shared between them runs once under a file lock); returns every cell of
     * the grid for the report.
     */
    public List<Cell> run(Part part) throws IOException {
        List<Plan> plans = plan(part);
        List<Long> splits = part.splits().isEmpty() ? spec.splits() : part.splits();
        // The estimate counts the images of a split this process runs, not of the file's first split.
        SplitManifest manifest = manifest(splits.get(0));
        for (long split : splits) {
            manifest(split);
        }
        for (Plan p : plans) {
            checkCarveOut(p);
        }
        writeSpec();
        long t0 = System.nanoTime();
        double initialEstimate = estimateMinutes(manifest);
        int done = 0;
        for (Plan p : plans) {
            RunDir.State state = RunDir.of(p.runDir()).state();
            if (finished(p)) {
                scoreOutside(p);
                done++;
                continue;
            }
            refuseSearchCell(p);
            double elapsed = (System.nanoTime() - t0) / 6e10;
            LOG.info(String.format(Locale.ROOT, "cell %d/%d: %s %s split %d seed %d (%d epochs); %.1f min elapsed, about %.0f min left",
                    done + 1, plans.size(), p.arm().name(), p.subset(), p.splitSeed(), p.seed(), p.epochs(), elapsed,
                    minutesLeft(initialEstimate, estimateMinutes(manifest), elapsed)));
            String init = p.arm().pretrain() == null ? null : pretrain(p.arm().pretrain(), p.seed()).toString();
            boolean resume = state == RunDir.State.RESUMABLE;
            TrainConfig cfg = resume ? Json.read(RunDir.of(p.runDir()).config(), TrainConfig.class)
                    : config(p, init);
            List<TrainingListener> listeners = List.of(new ProgressListener(progress));
            if (spec.searching()) {
                new WbcTrainer(cfg, listeners, strict, false).fit(p.runDir(), resume, false).close();
                SearchTable.Row row = SearchTable.row(p.cell(), spec.arms());
                LOG.info(String.format(Locale.ROOT, "cell %s: validation macro F1 %.4f, accuracy %.4f at epoch %d (test"
                        + " split not read)", p.cell().label(), row.valMacroF1(), row.valAccuracy(), row.bestEpoch()));
                done++;
                continue;
            }
            Evaluation.Result r = new WbcTrainer(cfg, listeners, strict, false).fitThenTest(p.runDir(), resume);
            LOG.info(String.format(Locale.ROOT, "cell %s %s split %d seed %d: test accuracy %.4f, macro F1 %.4f, weighted F1 %.4f",
                    p.arm().name(), p.subset(), p.splitSeed(), p.seed(), r.metrics().accuracy(), r.metrics().macroF1(),
                    r.metrics().weightedF1()));
            scoreOutside(p);
            done++;
        }
        return plan().stream().map(Plan::cell).toList();
    }

    /**
     * Scores a finished cell's model on each outside set it has not been scored on, except a set
     * whose images the arm's pre-training read (a model is never scored on images it has seen).
     */
    private void scoreOutside(Plan p) throws IOException {
        if (spec.searching()) {
            return; // an outside set is a test set too
        }
        RunDir run = RunDir.of(p.runDir());
        for (ExperimentSpec.OutsideSet o : spec.outside()) {
            Path dir = run.eval(o.name());
            if (Files.isRegularFile(dir.resolve(RunDir.METRICS))) {
                continue;
            }
            String seenBy = seenByPretraining(p.arm(), Path.of(o.path()));
            if (seenBy != null) {
                LOG.info("cell {} not scored on {}: its pre-training stage '{}' read those images", p.cell().label(),
                        o.name(), seenBy);
                continue;
            }
            try (Classifier c = Classifier.load(run.model())) {
                Evaluation.Result r = Evaluation.folder(c, Path.of(o.path()), dir, cacheDir, strict, false, o.adapt(),
                        LOG::warn);
                LOG.info(String.format(Locale.ROOT, "cell %s on %s: accuracy %.4f, macro F1 %.4f", p.cell().label(),
                        o.name(), r.metrics().accuracy(), r.metrics().macroF1()));
            }
        }
    }

    /**
     * A search cell, and the cell a refit retrains, must have a validation carve-out: one line
     * naming the budget otherwise, before any cell trains.
     */
    private void checkCarveOut(Plan p) throws IOException {
        if (!spec.searching() && p.arm().refit() == null) {
            return;
        }
        int images = manifest(p.splitSeed()).train(p.subset()).size();
        if (images < spec.validationFloor()) {
            throw new UserException((spec.searching() ? "search" : "refit arm '" + p.arm().name() + "'") + ": budget "
                    + p.subset() + " of split " + p.splitSeed() + " has " + images
                    + " training images, below the validation floor of " + spec.validationFloor()
                    + " (minValSubset): no validation carve-out " + (spec.searching() ? "to rank on" : "to choose epochs on")
                    + "; leave that budget out");
        }
    }

    /**
     * A grid that tests refuses to go on with a cell a search trained (into the same folder):
     * testing every candidate of a search is what the search exists to avoid.
     */
    private void refuseSearchCell(Plan p) {
        Path prov = RunDir.of(p.runDir()).provenance();
        if (!spec.searching() && Files.isRegularFile(prov)
                && Json.read(prov, org.wbctransfer.model.Provenance.class).testSplit() != null) {
            throw new UserException(p.runDir() + ": trained by a search, which never reads the test split; test the"
                    + " chosen recipe in a grid of its own (another --out), or refit it there");
        }
    }

    /** The name of the arm's first pre-training stage whose data folder holds the set or lies inside it, or null. */
    static String seenByPretraining(ExperimentSpec.Arm arm, Path set) {
        if (arm.cellCrop() != null && overlap(set, CellCrop.readInfo(Path.of(arm.cellCrop())).trainedOn())) {
            return "the cell-crop segmenter's";
        }
        if (arm.pretrain() == null) {
            return null;
        }
        for (Recipe.StageSpec st : Recipe.load(arm.pretrain()).stages()) {
            if (st.data() != null && overlap(set, st.data())) {
                return st.displayName();
            }
        }
        return null;
    }

    /** Whether one folder holds the other (or they are the same): then a model trained on one has seen the other's images. */
    private static boolean overlap(Path set, String data) {
        Path target = set.toAbsolutePath().normalize();
        Path d = Path.of(data).toAbsolutePath().normalize();
        return target.startsWith(d) || d.startsWith(target);
    }

    /** The experiment's plan beside its cells: {@code <out>/experiment.json}. */
    public void writeSpec() throws IOException {
        Files.createDirectories(out);
        Json.write(out.resolve(SPEC), spec);
    }

    /**
     * The recipe's backbone for a training seed, pre-trained on first use. A lock file beside the
     * pre-training folder makes a second process on the same grid wait, then find the stages done.
     */
    private Path pretrain(String recipeName, long seed) throws IOException {
        Path dir = pretrainDir(recipeName, seed);
        Files.createDirectories(dir.getParent());
        Path lockFile = dir.resolveSibling(dir.getFileName() + ".lock");
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = ch.lock()) {
            return Pretrainer.run(Recipe.load(recipeName), dir, seed, spec.size(), cacheDir, progress, strict);
        }
    }

    /**
     * The run directory of a cell; also a self-training arm's teacher. A grid of one split keeps
     * the names it always had.
     */
    Path cellDir(String arm, String subset, long split, long seed) {
        String name = spec.splits().size() == 1 ? subset + "-seed" + seed : subset + "-split" + split + "-seed" + seed;
        return out.resolve(arm).resolve(name);
    }

    TrainConfig config(Plan p, String init) throws IOException {
        ExperimentSpec.Arm a = p.arm();
        if (a.refit() != null) {
            return refitConfig(p);
        }
        Path teacher = a.teacher() == null ? null
                : RunDir.of(cellDir(a.teacher(), p.subset(), p.splitSeed(), p.seed())).model();
        return TrainConfig.builder().setData(dataRoot(), manifestPath(p.splitSeed())).setSubset(p.subset())
                .optImageSize(spec.size()).optBatchSize(spec.batchSize()).optEpochs(p.epochs())
                .optLearningRate(a.lr() != null ? a.lr() : 1e-3).optSeed(p.seed()).optCacheDir(cacheDir)
                .optInit(init == null ? null : Path.of(init), a.backboneLrScale())
                .optFreeze(a.freezeStages() != null ? a.freezeStages() : 0,
                        a.unfreezeEpoch() != null ? a.unfreezeEpoch() : 0)
                .optPseudoLabels(teacher, a.threshold())
                .optClassWeighted(a.weighted())
                .optAugmentation(a.augmentationOrStandard())
                .optNorm(a.normOrBatch())
                .optLabelSmoothing(ExperimentSpec.Arm.orOff(a.labelSmoothing()))
                .optMixing(ExperimentSpec.Arm.orOff(a.mixup()), ExperimentSpec.Arm.orOff(a.cutmix()))
                .optEmaDecay(ExperimentSpec.Arm.orOff(a.emaDecay()))
                .optCellCrop(a.cellCrop() == null ? null : Path.of(a.cellCrop()))
                .optColourStandard(Boolean.TRUE.equals(a.colourStandard()))
                .optValidation(org.wbctransfer.config.Defaults.VAL_PERCENT, spec.validationFloor())
                .build();
    }

    /**
     * A refit cell's config: the refitted cell's own config.json with no carve-out and that
     * cell's best validation epoch as the epoch count.
     */
    private TrainConfig refitConfig(Plan p) throws IOException {
        RunDir source = RunDir.of(cellDir(p.arm().refit(), p.subset(), p.splitSeed(), p.seed()));
        Path meta = source.model().resolve(Classifier.METADATA);
        if (!Files.isRegularFile(meta)) {
            throw new UserException(p.cell().label() + ": the cell it refits, " + source.root() + ", has no model yet");
        }
        org.wbctransfer.model.Provenance prov = Json.read(meta, org.wbctransfer.model.ModelMetadata.class).provenance();
        TrainConfig cfg = source.resumeConfig();
        if (prov.validationImages() == 0 || prov.bestEpoch() == null) {
            throw new UserException(p.cell().label() + ": " + source.root() + " had no validation carve-out to choose"
                    + " its epochs on");
        }
        return cfg.asRefit(prov.bestEpoch(), "epoch " + prov.bestEpoch() + " of " + cfg.epochs()
                + ", the best validation macro F1 of " + source.root().toAbsolutePath().normalize());
    }
}
