package org.wbctransfer.experiment;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.wbctransfer.config.Defaults;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;

/**
 * A study grid in YAML: arms (from scratch, or fine-tuned from a pre-training recipe) crossed with
 * label budgets and seeds. Built-in profiles live in the jar under {@code experiments/}.
 * {@code groupBy}, a regular expression over file names, draws every split seed's manifest as a
 * grouped split ({@link org.wbctransfer.data.SplitManifest#createGrouped}); without it the split is
 * image-level.
 *
 * <p>{@code search: true} makes the grid a search: every cell trains and is scored on its
 * validation carve-out only, no test image is opened (not even decoded into the cache), and the
 * candidates are ranked by validation macro F1 in {@code search.csv} and {@code search.md}
 * ({@link SearchTable}) instead of the test report. Every budget of a search needs a carve-out:
 * one below the validation floor ({@code minValSubset} training images, default
 * {@value org.wbctransfer.config.Defaults#MIN_VAL_SUBSET}) is refused before any cell trains.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ExperimentSpec(String name, String description, String data, Integer imageSize, Integer batch,
        Long splitSeed, List<Long> splitSeeds, String groupBy, Map<String, SubsetPlan> subsets, List<Arm> arms,
        List<OutsideSet> outsideSets, Boolean search, Integer minValSubset) {

    /**
     * A labelled test set from another lab or device (class folders, or a wbc-seg source's
     * {@code images/} + {@code labels.csv}) that every finished model of the grid is scored on, into
     * {@code <run>/eval-<name>/}. With {@code adaptBn} the model's BatchNorm statistics are first
     * re-estimated on the set's images (no labels). {@code note} says what the set was used for
     * (e.g. that a choice was made on it); it is kept in the grid's experiment.json.
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record OutsideSet(String name, String path, Boolean adaptBn, String note) {
        public boolean adapt() {
            return adaptBn != null && adaptBn;
        }
    }

    public List<OutsideSet> outside() {
        return outsideSets == null ? List.of() : outsideSets;
    }

    /**
     * Split seed 0 is the development split: its test figures have been looked at many times, so a
     * report never pools it with fresh splits.
     */
    public static final long DEVELOPMENT_SPLIT = 0;

    /** Seeds and schedule of one label budget. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record SubsetPlan(List<Long> seeds, int epochs) {}

    /**
     * One arm. Without {@code pretrain} it trains from scratch; with it, a backbone is pre-trained
     * once per seed by that recipe and fine-tuned on every budget. With {@code teacher} (an earlier
     * arm) it self-trains: that arm's model of the same budget and seed pseudo-labels the split's
     * other training images (top probability at least {@code pseudoThreshold}, default 0.9).
     * {@code epochs}, when given, replaces the budget's schedule: a self-training run sees nearly
     * the whole training set whatever its label budget. {@code classWeighted: false} trains with a
     * plain cross-entropy instead of the class-weighted one (default true). {@code chosenOn} says
     * that the recipe was chosen after looking at test figures, and on which (e.g. "split 0's test").
     * {@code augmentation} overrides fields of the standard augmentation by their config.json names
     * (e.g. {@code {zoomMin: 0.5, zoomMax: 2, stain: 0.05}}). {@code norm: group} trains the
     * GroupNorm network, {@code norm: layer} the LayerNorm one (from scratch only: pre-trained
     * backbones are BatchNorm); default batch.
     * {@code refit: <earlier arm>} retrains each of that arm's cells with its settings and seed on
     * the whole budget, the validation carve-out included, for the epoch count its carve-out chose
     * (the cell's best epoch), so the carve-out's labels are not wasted; the refit model has no
     * validation figures. A refit arm names no setting of its own besides {@code subsets} and
     * {@code chosenOn}, and every budget it runs needs a carve-out. {@code labelSmoothing},
     * {@code mixup}, {@code cutmix} (Beta alphas) and {@code emaDecay} are the training levers of
     * {@code wbc train}'s {@code --label-smoothing}, {@code --mixup}, {@code --cutmix} and
     * {@code --ema}; absent is off. {@code cellCrop: <folder>} trains on cell-centred crops found by
     * the segmentation network in that folder (a masks stage's), as {@code wbc train --cell-crop};
     * the grid does not score such a model on the images that network was trained on.
     * {@code colourStandard: true} standardises every image's colours, as {@code wbc train --colour-standard}.
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Arm(String name, String pretrain, Double lr, Double backboneLrScale, Integer freezeStages,
            Integer unfreezeEpoch, Double epochsScale, List<String> subsets, String teacher, Double pseudoThreshold,
            Integer epochs, Boolean classWeighted, String chosenOn, Map<String, Object> augmentation,
            org.wbctransfer.config.TrainConfig.Norm norm, String refit, Double labelSmoothing, Double mixup,
            Double cutmix, Double emaDecay, String cellCrop, Boolean colourStandard) {

        /** A training lever's value, 0 (off) when the arm does not name it. */
        public static double orOff(Double lever) {
            return lever == null ? 0 : lever;
        }

        public org.wbctransfer.config.TrainConfig.Norm normOrBatch() {
            return norm != null ? norm : org.wbctransfer.config.TrainConfig.Norm.parse(Defaults.NORM);
        }

        /** The standard augmentation with this arm's overrides; an unknown field is a {@link UserException}. */
        public org.wbctransfer.config.Augmentation augmentationOrStandard() {
            var standard = org.wbctransfer.config.Augmentation.standard();
            if (augmentation == null) {
                return standard;
            }
            Map<String, Object> fields = Json.MAPPER.convertValue(standard,
                    new com.fasterxml.jackson.core.type.TypeReference<java.util.LinkedHashMap<String, Object>>() {});
            for (var e : augmentation.entrySet()) {
                if (!fields.containsKey(e.getKey())) {
                    throw new UserException("arm '" + name + "': unknown augmentation field '" + e.getKey()
                            + "' (known: " + fields.keySet() + ")");
                }
                fields.put(e.getKey(), e.getValue());
            }
            try {
                return Json.MAPPER.convertValue(fields, org.wbctransfer.config.Augmentation.class);
            } catch (IllegalArgumentException ex) {
                Throwable cause = ex.getCause() != null && ex.getCause().getCause() instanceof UserException u ? u : ex;
                throw new UserException("arm '" + name + "': " + cause.getMessage().lines().findFirst().orElse(""));
            }
        }

        public double threshold() {
            return pseudoThreshold != null ? pseudoThreshold : org.wbctransfer.training.PseudoLabels.DEFAULT_THRESHOLD;
        }

        public boolean weighted() {
            return classWeighted == null || classWeighted;
        }

        public boolean runs(String subset) {
            return subsets == null || subsets.contains(subset);
        }
    }

    /**
     * Arms whose recipe was chosen after looking at test figures, with where ({@code chosenOn}),
     * so that every table row of the report says so.
     */
    public Map<String, String> armNotes() {
        Map<String, String> notes = new java.util.LinkedHashMap<>();
        arms.stream().filter(a -> a.chosenOn() != null).forEach(a -> notes.put(a.name(), "chosen on " + a.chosenOn()));
        return notes;
    }

    public static final List<String> PROFILES = List.of("quick", "cpu", "ablation", "paper");

    public int size() {
        return imageSize != null ? imageSize : Defaults.IMAGE_SIZE;
    }

    /** Whether this grid is a search ({@code search: true}): no test image is read. */
    public boolean searching() {
        return search != null && search;
    }

    /** The smallest training subset that gets a validation carve-out. */
    public int validationFloor() {
        return minValSubset != null ? minValSubset : Defaults.MIN_VAL_SUBSET;
    }

    public int batchSize() {
        return batch != null ? batch : Defaults.BATCH;
    }

    /**
     * The split seeds in run order: {@code splitSeeds}, else the single {@code splitSeed}, else the
     * development split. Each split seed draws its own manifest; pre-training does not depend on it.
     */
    public List<Long> splits() {
        if (splitSeeds != null) {
            return splitSeeds;
        }
        return List.of(splitSeed != null ? splitSeed : DEVELOPMENT_SPLIT);
    }

    /** {@code groupBy} compiled, or null for the image-level split; a bad pattern is a {@link UserException}. */
    public java.util.regex.Pattern groupPattern() {
        return groupBy == null ? null : org.wbctransfer.data.SplitManifest.compileGroupBy(groupBy, "groupBy");
    }

    public static ExperimentSpec load(String nameOrPath) {
        Path p = Path.of(nameOrPath);
        ExperimentSpec s;
        try {
            if (Files.isRegularFile(p)) {
                s = Json.YAML.readValue(p.toFile(), ExperimentSpec.class);
            } else if (PROFILES.contains(nameOrPath)) {
                try (InputStream in = ExperimentSpec.class.getResourceAsStream("/experiments/" + nameOrPath + ".yaml")) {
                    s = Json.YAML.readValue(in, ExperimentSpec.class);
                }
            } else {
                throw new UserException(nameOrPath + ": experiment file not found (built-in profiles: " + PROFILES + ")");
            }
        } catch (IOException e) {
            throw new UserException(nameOrPath + ": not a valid experiment (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (s.arms() == null || s.arms().isEmpty() || s.subsets() == null || s.subsets().isEmpty()) {
            throw new UserException(nameOrPath + ": an experiment needs 'arms' and 'subsets'");
        }
        if (s.splitSeeds() != null && (s.splitSeeds().isEmpty() || s.splitSeed() != null
                || new java.util.HashSet<>(s.splitSeeds()).size() != s.splitSeeds().size())) {
            throw new UserException(nameOrPath + ": give either 'splitSeed' or a non-empty 'splitSeeds' list without repeats");
        }
        if (s.groupBy() != null) {
            org.wbctransfer.data.SplitManifest.compileGroupBy(s.groupBy(), nameOrPath + ": groupBy");
        }
        java.util.Set<String> setNames = new java.util.HashSet<>();
        for (OutsideSet o : s.outside()) {
            if (o.name() == null || !o.name().matches("[A-Za-z0-9._-]+") || o.name().equals("test") || o.path() == null) {
                throw new UserException(nameOrPath + ": each outside set needs a 'path' and a 'name' of letters, digits,"
                        + " '.', '_' or '-' other than 'test', got '" + o.name() + "'");
            }
            if (!setNames.add(o.name())) {
                throw new UserException(nameOrPath + ": outside set '" + o.name() + "' is listed twice");
            }
        }
        Map<String, Arm> earlier = new java.util.HashMap<>();
        for (Arm a : s.arms()) {
            if (a.name() == null || !a.name().matches("[A-Za-z0-9._-]+")) {
                throw new UserException(nameOrPath + ": arm names must be letters, digits, '.', '_' or '-', got '" + a.name() + "'");
            }
            if (a.teacher() != null) {
                // The teacher's cells must exist when the student's come up, and the grid runs arms in order.
                Arm t = earlier.get(a.teacher());
                if (t == null) {
                    throw new UserException(nameOrPath + ": arm '" + a.name() + "' has teacher '" + a.teacher()
                            + "', which is not an arm listed before it");
                }
                if (t.subsets() != null && (a.subsets() == null || !t.subsets().containsAll(a.subsets()))) {
                    throw new UserException(nameOrPath + ": arm '" + a.name() + "' runs budgets its teacher '" + t.name()
                            + "' does not (" + t.subsets() + ")");
                }
            }
            if (a.refit() != null) {
                checkRefit(nameOrPath, s, a, earlier.get(a.refit()));
            }
            a.augmentationOrStandard(); // a bad override fails here, before any cell runs
            try {
                org.wbctransfer.config.TrainConfig.checkLevers(Arm.orOff(a.labelSmoothing()), Arm.orOff(a.mixup()),
                        Arm.orOff(a.cutmix()), Arm.orOff(a.emaDecay()));
            } catch (UserException e) {
                throw new UserException(nameOrPath + ": arm '" + a.name() + "': " + e.getMessage());
            }
            if (a.normOrBatch() != org.wbctransfer.config.TrainConfig.Norm.BATCH) {
                // Either would fail only after cells (and a pre-training) had run.
                if (a.pretrain() != null) {
                    throw new UserException(nameOrPath + ": arm '" + a.name() + "' has norm " + a.norm()
                            + " and pretrain '" + a.pretrain() + "': pre-trained backbones are BatchNorm networks");
                }
                s.outside().stream().filter(OutsideSet::adapt).findFirst().ifPresent(o -> {
                    throw new UserException(nameOrPath + ": outside set '" + o.name() + "' has adaptBn, but arm '"
                            + a.name() + "' (norm " + a.norm() + ") has no BatchNorm statistics to adapt");
                });
            }
            earlier.put(a.name(), a);
        }
        if (s.minValSubset() != null && s.minValSubset() < 2) {
            throw new UserException(nameOrPath + ": minValSubset must be at least 2, got " + s.minValSubset());
        }
        return s;
    }

    /** A refit arm retrains an earlier arm's cells with that arm's settings, and only in a grid that tests. */
    private static void checkRefit(String file, ExperimentSpec s, Arm a, Arm source) {
        if (s.searching()) {
            throw new UserException(file + ": arm '" + a.name() + "' is a refit, which has no validation figures to"
                    + " rank; a search (search: true) cannot hold it: refit the chosen arm in a grid that tests");
        }
        if (source == null) {
            throw new UserException(file + ": arm '" + a.name() + "' refits '" + a.refit()
                    + "', which is not an arm listed before it");
        }
        if (source.refit() != null) {
            throw new UserException(file + ": arm '" + a.name() + "' refits '" + a.refit() + "', itself a refit");
        }
        if (source.subsets() != null && (a.subsets() == null || !source.subsets().containsAll(a.subsets()))) {
            throw new UserException(file + ": arm '" + a.name() + "' runs budgets the arm it refits ('" + source.name()
                    + "') does not (" + source.subsets() + ")");
        }
        List<Object> own = java.util.Arrays.asList(a.pretrain(), a.lr(), a.backboneLrScale(), a.freezeStages(),
                a.unfreezeEpoch(), a.epochsScale(), a.teacher(), a.pseudoThreshold(), a.epochs(), a.classWeighted(),
                a.augmentation(), a.norm(), a.labelSmoothing(), a.mixup(), a.cutmix(), a.emaDecay(), a.cellCrop(), a.colourStandard());
        if (own.stream().anyMatch(java.util.Objects::nonNull)) {
            throw new UserException(file + ": arm '" + a.name() + "' refits '" + a.refit() + "' with that arm's"
                    + " settings; give it only name, refit, subsets and chosenOn");
        }
    }
}
