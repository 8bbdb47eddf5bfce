package org.wbctransfer.training;

/**
 * Observes a training run. Logging, progress display, the summary file and checkpoints are
 * listeners, so the loop itself only trains.
 */
public interface TrainingListener {

    default void onTrainingBegin(TrainingRun run) {}

    default void onEpochBegin(TrainingRun run, int epoch, int batches) {}

    /** After each optimizer step, with the running mean loss and accuracy of this epoch. */
    default void onBatchEnd(TrainingRun run, int epoch, int batch, int images, double meanLoss, double accuracy) {}

    default void onEpochEnd(TrainingRun run, EpochResult result) {}

    default void onTrainingEnd(TrainingRun run) {}
}
