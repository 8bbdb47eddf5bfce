package org.wbctransfer.training;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.optimizer.Adam;
import ai.djl.training.tracker.Tracker;
import java.nio.FloatBuffer;
import java.util.Iterator;
import java.util.Random;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ResNet18;
import org.wbctransfer.model.ResNetBackbone;

/**
 * Fine-tunes the last stages of a classifier's backbone, with its head, on a few labelled cells of
 * a new lab, after the head alone was refitted ({@link HeadFit}): the order Kumar et al. 2022
 * ("Fine-tuning can distort pretrained features") found to keep what the features knew, since the
 * gradients then start from a head that already fits. Every BatchNorm runs in inference mode, its
 * statistics (the source's, or those re-estimated on the lab's images) left as they are: fifty
 * cells in batches of 32 would make poor statistics. The stages before are frozen. The weights change
 * in place. Classes are balanced by the draw (K cells each), so the loss is unweighted.
 */
public final class FewShotTune {

    /**
     * @param stages backbone stages trained, counted from the last (1: layer4; 4: layer1..layer4)
     * @param steps optimizer steps, each on {@code batch} views drawn without replacement (reshuffled when used up)
     * @param learningRate Adam's, constant
     */
    public record Settings(int stages, int steps, double learningRate, int batch) {
        public Settings {
            if (stages < 1 || stages > 4 || steps < 1 || learningRate <= 0 || batch < 1) {
                throw new org.wbctransfer.util.UserException("fine-tuning needs 1-4 stages, at least one step, a positive"
                        + " learning rate and batch; got " + stages + ", " + steps + ", " + learningRate + ", " + batch);
            }
        }
    }

    private FewShotTune() {}

    /**
     * @param x n normalized CHW images at {@code size}
     * @param y their class indices
     * @return the mean loss of the first and of the last tenth of the steps
     */
    public static double[] run(Classifier c, float[] x, int[] y, int size, Settings s, long seed) {
        SequentialBlock block = c.block();
        ResNetBackbone backbone = ResNet18.backboneOf(block);
        int per = 3 * size * size;
        int n = y.length;
        // Stem and the first 4 - stages layers frozen (the pooling child has no weights).
        backbone.setFrozenStages(ResNet18.BACKBONE_STAGES - s.stages());
        Checkpoints.requireGradients(block); // weights read from a file carry no autograd
        Adam adam = Adam.builder().optLearningRateTracker(Tracker.fixed((float) s.learningRate())).build();
        WeightedCrossEntropy loss = new WeightedCrossEntropy(uniform(c.metadata().classes().size()));
        double[] firstLast = new double[2];
        int tenth = Math.max(1, s.steps() / 10);
        try (Trainer trainer = c.newTrainer(new DefaultTrainingConfig(loss).optOptimizer(adam)
                .optDevices(new Device[] {c.device()}))) {
            Random rng = new Random(seed);
            int batch = Math.min(s.batch(), n);
            Iterator<int[]> batches = new Iterator<>() {
                int done;
                final java.util.List<Integer> order = new java.util.ArrayList<>();

                @Override
                public boolean hasNext() {
                    return done < s.steps();
                }

                @Override
                public int[] next() {
                    int[] idx = new int[batch];
                    for (int k = 0; k < batch; k++) {
                        if (order.isEmpty()) {
                            for (int i = 0; i < n; i++) {
                                order.add(i);
                            }
                            java.util.Collections.shuffle(order, rng);
                        }
                        idx[k] = order.remove(order.size() - 1);
                    }
                    done++;
                    return idx;
                }
            };
            float[] buf = new float[batch * per];
            float[] labels = new float[batch];
            TrainLoop.epoch(trainer, batches, (t, sub, idx) -> {
                for (int k = 0; k < idx.length; k++) {
                    System.arraycopy(x, idx[k] * per, buf, k * per, per);
                    labels[k] = y[idx[k]];
                }
                NDArray in = sub.create(FloatBuffer.wrap(buf), new Shape(idx.length, 3, size, size));
                // training = false: BatchNorm normalises with its running statistics and leaves them alone.
                NDArray logits = block.forward(new ParameterStore(sub, false), new NDList(in), false).singletonOrThrow();
                return loss.evaluate(new NDList(sub.create(labels)), new NDList(logits));
            }, (i, idx, v, mean) -> {
                if (i < tenth) {
                    firstLast[0] += v / tenth;
                }
                if (i >= s.steps() - tenth) {
                    firstLast[1] += v / tenth;
                }
            }, "few-shot fine-tuning");
        } finally {
            backbone.setFrozenStages(0);
        }
        return firstLast;
    }

    private static float[] uniform(int k) {
        float[] w = new float[k];
        java.util.Arrays.fill(w, 1f);
        return w;
    }
}
