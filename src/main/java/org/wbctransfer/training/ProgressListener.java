package org.wbctransfer.training;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A console progress bar per epoch (loss, accuracy, images/s) and a log line when the epoch ends.
 * The bar goes to stderr so that stdout stays clean for results.
 */
public final class ProgressListener implements TrainingListener {

    private static final Logger LOG = LoggerFactory.getLogger(ProgressListener.class);
    private final boolean showBar;
    private ProgressBar bar;
    private long epochStart;

    public ProgressListener(boolean showBar) {
        this.showBar = showBar;
    }

    @Override
    public void onTrainingBegin(TrainingRun run) {
        LOG.info("training {} images ({} validation), {} batches/epoch, {} epochs; model selection: {}",
                run.trainImages(), run.valImages(), run.batchesPerEpoch(), run.config().epochs(), run.selection());
    }

    @Override
    public void onEpochBegin(TrainingRun run, int epoch, int batches) {
        epochStart = System.nanoTime();
        if (showBar) {
            bar = new ProgressBarBuilder().setTaskName("epoch " + (epoch + 1) + "/" + run.config().epochs())
                    .setInitialMax(batches).setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500)
                    .continuousUpdate().build();
        }
    }

    @Override
    public void onBatchEnd(TrainingRun run, int epoch, int batch, int images, double meanLoss, double accuracy) {
        if (bar != null) {
            double s = (System.nanoTime() - epochStart) / 1e9;
            bar.stepTo(batch + 1L);
            bar.setExtraMessage(String.format(java.util.Locale.ROOT, " loss %.4f acc %.3f %.0f img/s", meanLoss,
                    accuracy, images / Math.max(s, 1e-9)));
        }
    }

    @Override
    public void onEpochEnd(TrainingRun run, EpochResult r) {
        if (bar != null) {
            bar.close();
            bar = null;
        }
        if (Double.isNaN(r.valMacroF1())) {
            LOG.info(String.format(java.util.Locale.ROOT, "epoch %d/%d lr %.2e train loss %.4f acc %.4f | %.0f img/s %.0f s",
                    r.epoch(), run.config().epochs(), r.learningRate(), r.trainLoss(), r.trainAccuracy(),
                    r.imagesPerSecond(), r.seconds()));
        } else {
            LOG.info(String.format(java.util.Locale.ROOT,
                    "epoch %d/%d lr %.2e train loss %.4f acc %.4f | val loss %.4f acc %.4f macro F1 %.4f%s | %.0f img/s %.0f s",
                    r.epoch(), run.config().epochs(), r.learningRate(), r.trainLoss(), r.trainAccuracy(), r.valLoss(),
                    r.valAccuracy(), r.valMacroF1(), r.best() ? " (best)" : "", r.imagesPerSecond(), r.seconds()));
        }
    }
}
