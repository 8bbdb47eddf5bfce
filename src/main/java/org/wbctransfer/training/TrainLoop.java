package org.wbctransfer.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import java.util.Iterator;

/**
 * The one optimisation loop, used by fine-tuning and by every pre-training stage. It holds no
 * state: each caller supplies how a batch becomes a scalar loss and what to do once the step is
 * taken (metrics, progress); the loop does the gradients, the optimizer step and the memory
 * scoping, and stops on a loss that is not finite.
 */
public final class TrainLoop {

    /** The forward pass of one batch inside the gradient collector: the loss to minimise, arrays made in {@code sub}. */
    @FunctionalInterface
    public interface Step<B> {
        NDArray loss(Trainer trainer, NDManager sub, B batch);
    }

    /**
     * After the optimizer step, still inside the batch's sub-manager (arrays of the step are alive);
     * {@code meanLoss} is the running mean per batch of this epoch, what {@link #epoch} returns at its end.
     */
    @FunctionalInterface
    public interface AfterStep<B> {
        void after(int index, B batch, float loss, double meanLoss);
    }

    private TrainLoop() {}

    /** One epoch over {@code batches}; returns the mean loss per batch. */
    public static <B> double epoch(Trainer trainer, Iterator<B> batches, Step<B> step, AfterStep<B> after, String task) {
        double sum = 0;
        int n = 0;
        NDManager root = trainer.getManager();
        while (batches.hasNext()) {
            B b = batches.next();
            // Every array of a step lives in a sub-manager closed after the update; otherwise
            // native memory grows with each batch.
            try (NDManager sub = root.newSubManager()) {
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
                after.after(n, b, v, sum / (n + 1));
            }
            n++;
        }
        return sum / Math.max(1, n);
    }
}
