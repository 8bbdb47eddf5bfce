package org.wbctransfer.training;

import ai.djl.nn.Block;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.wbctransfer.config.RunDir;

/**
 * Saves the run's checkpoints after every epoch: {@code last} with the optimizer state (what
 * --resume continues from), {@code best} when the epoch is the best so far. Both are written
 * atomically, so a kill leaves the previous version intact.
 */
record CheckpointListener(RunDir dir, Block block, AdamW optimizer) implements TrainingListener {

    @Override
    public void onEpochEnd(TrainingRun run, EpochResult r) {
        Checkpoints.Progress progress = new Checkpoints.Progress(r.epoch(), run.best().epoch(), run.best().score());
        try {
            if (r.best()) {
                Checkpoints.save(dir.best(), block, null, progress);
            }
            Checkpoints.save(dir.last(), block, optimizer, progress);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
