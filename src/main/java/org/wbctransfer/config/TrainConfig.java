package org.wbctransfer.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * Everything that determines a training run; saved as {@code config.json} in the run directory
 * and read back by {@code --resume}, so a resumed run cannot silently change its recipe.
 *
 * @param dataRoot class-per-folder dataset root
 * @param manifest split manifest (CSV) over that root
 * @param subset training subset: WBC_1, WBC_10, WBC_50 or WBC_100
 * @param imageSize working resolution in pixels (square)
 * @param batchSize images per step
 * @param epochs passes over the training images
 * @param learningRate peak learning rate of AdamW
 * @param weightDecay AdamW's decoupled weight decay
 * @param warmupEpochs epochs of linear warm-up before cosine decay
 * @param finalLrFraction learning rate at the end, as a fraction of the peak
 * @param seed seeds weights, shuffling, augmentation and the validation carve-out
 * @param augmentation on-the-fly augmentation of training images
 * @param valPercent percent of each class of the training subset held out for model selection
 * @param minValSubset smallest training subset (images) that gets a validation carve-out;
 *     smaller ones train on everything for the fixed schedule and keep the last epoch
 * @param classWeighted class-weighted loss (n / (K n_c))
 * @param cacheDir where decoded images are cached
 * @param init pre-trained backbone bundle to start from, or null to train from scratch
 * @param backboneLrScale the backbone's learning rate as a fraction of the head's (fine-tuning)
 * @param freezeStages backbone stages (stem, layer1..layer4) frozen at the start
 * @param unfreezeEpoch epoch (0-based) at which frozen stages are released
 * @param pseudoTeacher model directory whose confident predictions label the split's other
 *     training images for this run (self-training), or null
 * @param pseudoThreshold smallest top probability of the teacher for an image to be used
 * @param norm the network's normalisation layers; configs written before it existed read as
 *     BatchNorm, the only kind there was
 * @param refit null for a run that selects its epoch on the validation carve-out (or keeps the
 *     last of a fixed schedule); for a refit, where its epoch count was chosen (the best
 *     validation epoch of a run with a carve-out, or "given"): it trains on the whole budget,
 *     carve-out included ({@code valPercent} 0), for {@code epochs} and keeps the last epoch, so it
 *     has no validation figures
 * @param labelSmoothing eps of label smoothing, targets (1 - eps) onehot + eps / K; 0 (the
 *     default, and what configs written before it read) is off
 * @param mixup alpha of mixup's Beta(alpha, alpha) mixing weight; 0 is off
 * @param cutmix alpha of CutMix's Beta(alpha, alpha); 0 is off. With both on, each batch takes one
 *     of the two with probability 1/2
 * @param emaDecay decay of an exponential moving average of the weights, which is what is
 *     validated, selected and saved as the model; 0 is off
 * @param cellCrop a segmentation network's folder (a masks stage's, or its {@code segmenter}
 *     folder): every image is cut to a square around the cell it finds, in training and in
 *     every later use of the model, which carries a copy; null (the default) keeps the centre square
 * @param colourStandard every resized image gets the same colour statistics
 *     ({@code data.ColourStandard}), in training and in every later use of the model; false (the
 *     default, and what configs written before it read) leaves the colours as they are
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record TrainConfig(
        String dataRoot,
        String manifest,
        String subset,
        int imageSize,
        int batchSize,
        int epochs,
        double learningRate,
        double weightDecay,
        double warmupEpochs,
        double finalLrFraction,
        long seed,
        Augmentation augmentation,
        int valPercent,
        int minValSubset,
        boolean classWeighted,
        String cacheDir,
        String init,
        double backboneLrScale,
        int freezeStages,
        int unfreezeEpoch,
        String pseudoTeacher,
        double pseudoThreshold,
        Norm norm,
        String refit,
        double labelSmoothing,
        double mixup,
        double cutmix,
        double emaDecay,
        @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
        String cellCrop,
        @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_DEFAULT)
        boolean colourStandard) {

    /**
     * BatchNorm (torchvision's ResNet) or GroupNorm ({@code model.GroupNorm}), which keeps no
     * statistics of the training images' activations: the one a new microscope's images cannot
     * disagree with.
     */
    public enum Norm {
        BATCH, GROUP, LAYER;

        @JsonValue
        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        @JsonCreator
        public static Norm parse(String id) {
            for (Norm n : values()) {
                if (n.id().equalsIgnoreCase(id)) {
                    return n;
                }
            }
            throw new org.wbctransfer.util.UserException("unknown normalisation '" + id + "' (expected batch, group or layer)");
        }

        /** The layer's usual name, for messages: BatchNorm, GroupNorm, LayerNorm. */
        public String layerName() {
            return switch (this) {
                case BATCH -> "BatchNorm";
                case GROUP -> "GroupNorm";
                case LAYER -> "LayerNorm";
            };
        }

        @Override
        public String toString() {
            return id();
        }
    }

    public TrainConfig {
        if (norm == null) {
            norm = Norm.parse(Defaults.NORM);
        }
    }

    /** Without self-training. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The one place that turns partial settings into a config, so the CLI and experiment files
     * cannot drift apart in their defaults. {@code setX} are required, {@code optX} optional.
     */
    public static final class Builder {
        private String dataRoot;
        private String manifest;
        private String subset;
        private int imageSize = Defaults.IMAGE_SIZE;
        private int batchSize = Defaults.BATCH;
        private Integer epochs;
        private double learningRate = 1e-3;
        private double weightDecay = 0.05;
        private Double warmupEpochs;
        private long seed;
        private Augmentation augmentation = Augmentation.standard();
        private int valPercent = Defaults.VAL_PERCENT;
        private int minValSubset = Defaults.MIN_VAL_SUBSET;
        private boolean classWeighted = true;
        private String cacheDir = Defaults.CACHE;
        private String init;
        private Double backboneLrScale;
        private int freezeStages;
        private int unfreezeEpoch;
        private String pseudoTeacher;
        private double pseudoThreshold;
        private Norm norm = Norm.parse(Defaults.NORM);
        private String refit;
        private double labelSmoothing;
        private double mixup;
        private double cutmix;
        private double emaDecay;
        private String cellCrop;
        private boolean colourStandard;

        private Builder() {}

        public Builder setData(java.nio.file.Path root, java.nio.file.Path manifestFile) {
            this.dataRoot = root.toAbsolutePath().normalize().toString();
            this.manifest = manifestFile.toAbsolutePath().normalize().toString();
            return this;
        }

        public Builder setSubset(String subset) {
            this.subset = subset;
            return this;
        }

        public Builder optImageSize(int imageSize) {
            this.imageSize = imageSize;
            return this;
        }

        public Builder optBatchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /** Null keeps the subset's default ({@link Subset#defaultEpochs}). */
        public Builder optEpochs(Integer epochs) {
            this.epochs = epochs;
            return this;
        }

        public Builder optLearningRate(double learningRate) {
            this.learningRate = learningRate;
            return this;
        }

        public Builder optWeightDecay(double weightDecay) {
            this.weightDecay = weightDecay;
            return this;
        }

        /** Null: 5 % of the epochs. */
        public Builder optWarmupEpochs(Double warmupEpochs) {
            this.warmupEpochs = warmupEpochs;
            return this;
        }

        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder optAugmentation(Augmentation augmentation) {
            this.augmentation = augmentation;
            return this;
        }

        public Builder optValidation(int valPercent, int minValSubset) {
            this.valPercent = valPercent;
            this.minValSubset = minValSubset;
            return this;
        }

        public Builder optClassWeighted(boolean classWeighted) {
            this.classWeighted = classWeighted;
            return this;
        }

        public Builder optCacheDir(java.nio.file.Path cacheDir) {
            this.cacheDir = cacheDir.toAbsolutePath().normalize().toString();
            return this;
        }

        /**
         * Fine-tune from a backbone bundle. A null scale gives the backbone a tenth of the head's
         * learning rate with a bundle (pre-trained features need gentler updates) and the same rate without.
         */
        public Builder optInit(java.nio.file.Path bundle, Double backboneLrScale) {
            this.init = bundle == null ? null : bundle.toAbsolutePath().normalize().toString();
            this.backboneLrScale = backboneLrScale;
            return this;
        }

        /** A zero unfreeze epoch keeps frozen stages frozen for the whole run. */
        public Builder optFreeze(int freezeStages, int unfreezeEpoch) {
            this.freezeStages = freezeStages;
            this.unfreezeEpoch = unfreezeEpoch;
            return this;
        }

        /** Self-training from a teacher model directory; null turns it off. */
        public Builder optPseudoLabels(java.nio.file.Path teacher, double threshold) {
            this.pseudoTeacher = teacher == null ? null : teacher.toAbsolutePath().normalize().toString();
            this.pseudoThreshold = threshold;
            return this;
        }

        public Builder optNorm(Norm norm) {
            this.norm = norm;
            return this;
        }

        /**
         * A refit ({@link TrainConfig#refit}): no validation carve-out, the epochs given by
         * {@link #optEpochs}; {@code chosenOn} says where that count comes from. Null turns it off.
         */
        public Builder optRefit(String chosenOn) {
            this.refit = chosenOn;
            if (chosenOn != null) {
                this.valPercent = 0;
            }
            return this;
        }

        /** Label smoothing's eps; 0 turns it off. */
        public Builder optLabelSmoothing(double eps) {
            this.labelSmoothing = eps;
            return this;
        }

        /** Mixup's and CutMix's Beta alphas; 0 turns each off. */
        public Builder optMixing(double mixupAlpha, double cutmixAlpha) {
            this.mixup = mixupAlpha;
            this.cutmix = cutmixAlpha;
            return this;
        }

        /** The decay of the weights' moving average; 0 turns it off. */
        public Builder optEmaDecay(double decay) {
            this.emaDecay = decay;
            return this;
        }

        /** Cell-centred crops by the segmentation network in {@code segmenter}; null keeps the centre square. */
        public Builder optCellCrop(java.nio.file.Path segmenter) {
            this.cellCrop = segmenter == null ? null : segmenter.toAbsolutePath().normalize().toString();
            return this;
        }

        /** Per-image colour standardisation ({@code data.ColourStandard}); off by default. */
        public Builder optColourStandard(boolean on) {
            this.colourStandard = on;
            return this;
        }

        public TrainConfig build() {
            if (dataRoot == null || subset == null) {
                throw new IllegalStateException("setData and setSubset are required");
            }
            int e = epochs != null ? epochs : Subset.parse(subset).defaultEpochs();
            // 5 * e / 100, not 0.05 * e: the latter records 0.6000000000000001 for 12 epochs.
            double warm = warmupEpochs != null ? warmupEpochs : e * 5 / 100.0;
            double scale = backboneLrScale != null ? backboneLrScale : (init != null ? 0.1 : 1.0);
            int unfreeze = freezeStages > 0 && unfreezeEpoch == 0 ? e : unfreezeEpoch;
            TrainConfig c = new TrainConfig(dataRoot, manifest, subset, imageSize, batchSize, e, learningRate,
                    weightDecay, warm, 0.01, seed, augmentation, valPercent, minValSubset, classWeighted, cacheDir, init,
                    scale, freezeStages, unfreeze, pseudoTeacher, pseudoThreshold, norm, refit, labelSmoothing, mixup, cutmix,
                    emaDecay, cellCrop, colourStandard);
            c.validate();
            return c;
        }
    }

    /**
     * This config with its paths relative to {@code base} (absolute paths stay as they are when no
     * relative form exists, e.g. another drive): what a model's metadata.json records, so a bundle
     * does not carry the training machine's folder layout; config.json keeps the absolute ones.
     */
    public TrainConfig relativeTo(java.nio.file.Path base) {
        return new TrainConfig(relative(base, dataRoot), relative(base, manifest), subset, imageSize, batchSize, epochs,
                learningRate, weightDecay, warmupEpochs, finalLrFraction, seed, augmentation, valPercent, minValSubset,
                classWeighted, relative(base, cacheDir), relative(base, init), backboneLrScale, freezeStages, unfreezeEpoch,
                relative(base, pseudoTeacher), pseudoThreshold, norm, refit, labelSmoothing, mixup, cutmix, emaDecay,
                relative(base, cellCrop), colourStandard);
    }

    /**
     * This run's recipe as a refit ({@link #refit}): the same settings and seed, no validation
     * carve-out, {@code epochs} epochs; the warm-up keeps its share of the schedule and stages
     * frozen for the whole run stay frozen for the whole refit.
     */
    public TrainConfig asRefit(int epochs, String chosenOn) {
        double warm = warmupEpochs * epochs / this.epochs;
        int unfreeze = unfreezeEpoch >= this.epochs ? epochs : Math.min(unfreezeEpoch, epochs);
        TrainConfig c = new TrainConfig(dataRoot, manifest, subset, imageSize, batchSize, epochs, learningRate,
                weightDecay, warm, finalLrFraction, seed, augmentation, 0, minValSubset, classWeighted, cacheDir, init,
                backboneLrScale, freezeStages, unfreeze, pseudoTeacher, pseudoThreshold, norm, chosenOn, labelSmoothing, mixup,
                cutmix, emaDecay, cellCrop, colourStandard);
        c.validate();
        return c;
    }

    /** A path relative to base, with '/' as separator; null stays null. */
    public static String relative(java.nio.file.Path base, String path) {
        if (path == null) {
            return null;
        }
        java.nio.file.Path p = java.nio.file.Path.of(path);
        java.nio.file.Path b = base.toAbsolutePath().normalize();
        if (!p.isAbsolute() || !java.util.Objects.equals(p.getRoot(), b.getRoot())) {
            return path;
        }
        String rel = b.relativize(p.normalize()).toString().replace(java.io.File.separatorChar, '/');
        return rel.isEmpty() ? "." : rel;
    }

    /** Configs written before fine-tuning existed read 0 here; that meant one learning rate. */
    public double effectiveBackboneLrScale() {
        return backboneLrScale > 0 ? backboneLrScale : 1.0;
    }

    public void validate() {
        Defaults.checkImageSize(imageSize, "image size");
        require(batchSize >= 2, "batch size must be at least 2, got " + batchSize);
        require(epochs >= 1, "epochs must be at least 1, got " + epochs);
        require(learningRate > 0 && learningRate < 1, "learning rate must be in (0, 1), got " + learningRate);
        require(weightDecay >= 0, "weight decay must be >= 0");
        require(valPercent >= 0 && valPercent < 50, "validation percent must be 0..49, got " + valPercent);
        require(freezeStages >= 0 && freezeStages <= 5, "frozen stages must be 0..5 (stem, layer1..layer4), got " + freezeStages);
        require(backboneLrScale >= 0 && backboneLrScale <= 10, "backbone learning-rate scale must be in [0, 10]");
        require(pseudoTeacher == null || (pseudoThreshold >= 0 && pseudoThreshold < 1),
                "pseudo-label threshold must be in [0, 1), got " + pseudoThreshold);
        require(norm == Norm.BATCH || init == null, "a " + norm.layerName() + " network cannot start from a pre-trained backbone:"
                + " backbone bundles are BatchNorm networks; train " + norm.layerName() + " from scratch (no --init or pretrain)");
        require(refit == null || valPercent == 0, "a refit trains on the whole budget: its validation percent must be 0,"
                + " got " + valPercent);
        checkLevers(labelSmoothing, mixup, cutmix, emaDecay);
    }

    /** The valid ranges of the training levers, also checked where an experiment file is read. */
    public static void checkLevers(double labelSmoothing, double mixup, double cutmix, double emaDecay) {
        require(labelSmoothing >= 0 && labelSmoothing < 0.5, "label smoothing must be in [0, 0.5), got " + labelSmoothing);
        require(mixup >= 0 && Double.isFinite(mixup), "mixup alpha must be >= 0 (0 is off), got " + mixup);
        require(cutmix >= 0 && Double.isFinite(cutmix), "cutmix alpha must be >= 0 (0 is off), got " + cutmix);
        require(emaDecay >= 0 && emaDecay < 1, "EMA decay must be in [0, 1) (0 is off), got " + emaDecay);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new org.wbctransfer.util.UserException(message);
        }
    }
}
