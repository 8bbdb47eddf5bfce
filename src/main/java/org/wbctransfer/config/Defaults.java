package org.wbctransfer.config;

import org.wbctransfer.util.UserException;

/**
 * The one source of the defaults that several commands, the trainer and experiment files share.
 * Paths are relative to the folder {@code bin/wbc} runs in (the project root).
 */
public final class Defaults {

    /** The classification data: the shared Raabin-WBC training images beside the project. */
    public static final String DATA = "../shared/datasets/raabin-wbc/train";
    /** Decoded images, reused across runs. */
    public static final String CACHE = "target/wbc-cache";
    /** Working resolution in pixels. */
    public static final int IMAGE_SIZE = 64;
    public static final int BATCH = 64;
    /** Normalisation layers of the network ({@link TrainConfig.Norm}): torchvision's BatchNorm. */
    public static final String NORM = "batch";
    /** Percent of each class of a training subset held out for model selection. */
    public static final int VAL_PERCENT = 10;
    /** The validation floor: smaller training subsets get no carve-out and keep the last epoch. */
    public static final int MIN_VAL_SUBSET = 1000;
    /** ResNet-18 downsamples 32x: smaller inputs leave no spatial map; larger ones do not fit a CPU's time. */
    public static final int MIN_IMAGE_SIZE = 32;
    public static final int MAX_IMAGE_SIZE = 512;

    private Defaults() {}

    /** The one valid range of the working resolution, wherever it is given. */
    public static int checkImageSize(int size, String what) {
        if (size < MIN_IMAGE_SIZE || size > MAX_IMAGE_SIZE) {
            throw new UserException(what + " must be " + MIN_IMAGE_SIZE + ".." + MAX_IMAGE_SIZE + ", got " + size);
        }
        return size;
    }
}
