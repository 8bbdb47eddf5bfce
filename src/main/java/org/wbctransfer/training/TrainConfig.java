package org.wbctransfer.training;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import org.wbctransfer.data.Augmentation;

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
        int unfreezeEpoch) {

    /** From scratch: no pre-trained backbone, one learning rate, nothing frozen. */
    public TrainConfig(String dataRoot, String manifest, String subset, int imageSize, int batchSize, int epochs,
            double learningRate, double weightDecay, double warmupEpochs, double finalLrFraction, long seed,
            Augmentation augmentation, int valPercent, int minValSubset, boolean classWeighted, String cacheDir) {
        this(dataRoot, manifest, subset, imageSize, batchSize, epochs, learningRate, weightDecay, warmupEpochs,
                finalLrFraction, seed, augmentation, valPercent, minValSubset, classWeighted, cacheDir, null, 1.0, 0, 0);
    }

    /** Configs written before fine-tuning existed read 0 here; that meant one learning rate. */
    public double effectiveBackboneLrScale() {
        return backboneLrScale > 0 ? backboneLrScale : 1.0;
    }

    public void validate() {
        require(imageSize >= 32 && imageSize <= 512, "image size must be 32..512, got " + imageSize);
        require(batchSize >= 2, "batch size must be at least 2, got " + batchSize);
        require(epochs >= 1, "epochs must be at least 1, got " + epochs);
        require(learningRate > 0 && learningRate < 1, "learning rate must be in (0, 1), got " + learningRate);
        require(weightDecay >= 0, "weight decay must be >= 0");
        require(valPercent >= 0 && valPercent < 50, "validation percent must be 0..49, got " + valPercent);
        require(freezeStages >= 0 && freezeStages <= 5, "frozen stages must be 0..5 (stem, layer1..layer4), got " + freezeStages);
        require(backboneLrScale >= 0 && backboneLrScale <= 10, "backbone learning-rate scale must be in [0, 10]");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new org.wbctransfer.util.UserException(message);
        }
    }
}
