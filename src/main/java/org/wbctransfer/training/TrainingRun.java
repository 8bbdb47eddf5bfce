package org.wbctransfer.training;

import java.util.List;
import org.wbctransfer.config.TrainConfig;

/**
 * The observable state of a run in progress, handed to listeners.
 *
 * @param selection how the final model is chosen: by validation macro F1, or the last epoch of a fixed schedule
 * @param best the best epoch so far (from 0, -1 before the first) and its validation macro F1
 */
public record TrainingRun(TrainConfig config, List<String> classNames, int trainImages, int valImages, String selection,
        int batchesPerEpoch, Best best) {

    public static final class Best {
        int epoch = -1;
        double score = Double.NEGATIVE_INFINITY;

        public int epoch() {
            return epoch;
        }

        public double score() {
            return score;
        }
    }
}
