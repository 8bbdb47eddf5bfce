package org.wbctransfer.pretrain;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import java.util.Iterator;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.wbctransfer.training.AdamW;
import org.wbctransfer.training.TrainLoop;
import org.wbctransfer.training.WarmupCosine;

/**
 * What pre-training stages share around the one training loop ({@link TrainLoop}): the optimizer
 * and its schedule, the trainer, and an epoch with a progress bar.
 */
public final class StageLoop {

    private StageLoop() {}

    public static AdamW optimizer(double lr, double weightDecay, int stepsPerEpoch, int epochs) {
        int total = Math.max(1, stepsPerEpoch * epochs);
        WarmupCosine schedule = new WarmupCosine(lr, Math.max(1, total / 20), total, 0.01, id -> 1.0);
        return AdamW.builder().optLearningRateTracker(schedule).optWeightDecays((float) weightDecay).build();
    }

    /** A trainer over the model's block; the loss is computed by each stage's step. */
    public static Trainer trainer(Model model, AdamW optimizer) {
        Loss unused = Loss.l2Loss();
        return model.newTrainer(new DefaultTrainingConfig(unused).optOptimizer(optimizer)
                .optDevices(new Device[] {model.getNDManager().getDevice()}));
    }

    /** One epoch; returns the mean loss per batch. */
    public static <B> double epoch(Trainer trainer, Iterator<B> batches, int count, TrainLoop.Step<B> step, String task,
            boolean progress) {
        ProgressBar bar = progress ? new ProgressBarBuilder().setTaskName(task).setInitialMax(count)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).continuousUpdate().build() : null;
        try {
            return TrainLoop.epoch(trainer, batches, step, (i, b, loss, meanLoss) -> {
                if (bar != null) {
                    bar.step();
                    bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f", meanLoss));
                }
            }, task);
        } finally {
            if (bar != null) {
                bar.close();
            }
        }
    }
}
