package org.wbctransfer.training;

import ai.djl.nn.Block;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.wbctransfer.config.RunDir;

/**
 * Saves the run's checkpoints after every epoch: {@code last} with the optimizer state and the
 * weights' average when there is one (what --resume continues from), {@code best} when the epoch
 * is the best so far, holding the averaged weights when there are any: they are the model. Both
 * are written atomically, so a kill leaves the previous version intact.
 */
record CheckpointListener(RunDir dir, Block block, AdamW optimizer, WeightEma ema) implements TrainingListener {

    @Override
    public void onEpochEnd(TrainingRun run, EpochResult r) {
        Checkpoints.Progress progress = new Checkpoints.Progress(r.epoch(), run.best().epoch(), run.best().score());
        try {
            if (r.best()) {
                saveBest(progress);
            }
            Checkpoints.save(dir.last(), block, optimizer, ema, progress);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void saveBest(Checkpoints.Progress progress) throws IOException {
        if (ema == null) {
            Checkpoints.save(dir.best(), block, null, null, progress);
            return;
        }
        ema.swap();
        try {
            Checkpoints.save(dir.best(), block, null, null, progress);
        } finally {
            ema.swap();
        }
    }
}
