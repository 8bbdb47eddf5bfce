package org.wbctransfer.pretrain;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.wbctransfer.training.AdamW;
import org.wbctransfer.training.WarmupCosine;
import org.wbctransfer.util.AtomicFiles;

/**
 * The optimisation loop shared by pre-training stages: each stage supplies how one batch becomes
 * a scalar loss; the loop does gradients, the AdamW step, memory scoping and progress.
 */
public final class StageLoop {

    /** Computes the loss of one batch; arrays must be created in {@code sub}. */
    @FunctionalInterface
    public interface Step<B> {
        NDArray loss(Trainer trainer, NDManager sub, B batch);
    }

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
    public static <B> double epoch(Trainer trainer, Iterator<B> batches, int count, Step<B> step, String task,
            boolean progress) {
        double sum = 0;
        int n = 0;
        ProgressBar bar = progress ? new ProgressBarBuilder().setTaskName(task).setInitialMax(count)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).continuousUpdate().build() : null;
        try {
            while (batches.hasNext()) {
                B b = batches.next();
                try (NDManager sub = trainer.getManager().newSubManager()) {
                    NDArray loss;
                    try (GradientCollector gc = trainer.newGradientCollector()) {
                        loss = step.loss(trainer, sub, b);
                        gc.backward(loss);
                    }
                    trainer.step();
                    float v = loss.getFloat();
                    if (!Float.isFinite(v)) {
                        throw new IllegalStateException(task + ": loss is " + v + " at batch " + n);
                    }
                    sum += v;
                }
                n++;
                if (bar != null) {
                    bar.step();
                    bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f", sum / n));
                }
            }
        } finally {
            if (bar != null) {
                bar.close();
            }
        }
        return sum / Math.max(1, n);
    }

    /** Accumulates per-epoch rows and rewrites the stage's summary.csv atomically. */
    public static final class Summary {
        private final Path file;
        private final StringBuilder sb;

        public Summary(Path file, String header) {
            this.file = file;
            this.sb = new StringBuilder(header).append('\n');
        }

        public void add(Object... values) throws IOException {
            for (int i = 0; i < values.length; i++) {
                if (i > 0) {
                    sb.append(',');
                }
                Object v = values[i];
                sb.append(v instanceof Double d ? String.format(Locale.ROOT, "%.5f", d) : String.valueOf(v));
            }
            sb.append('\n');
            AtomicFiles.writeString(file, sb.toString());
        }
    }
}
