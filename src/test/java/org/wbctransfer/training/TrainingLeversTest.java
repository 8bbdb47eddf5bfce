package org.wbctransfer.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Label smoothing, mixup / CutMix and the weights' moving average on hand-computed values. */
class TrainingLeversTest {

    @Test
    void smoothedWeightedCrossEntropyMatchesHandComputedValue() {
        try (NDManager m = NDManager.newBaseManager()) {
            // Logits [0, 0, 0] (label 0) and [ln 4, 0, 0] (label 2); weights [1, 2, 3]; eps 0.3, K 3:
            // targets [0.8, 0.1, 0.1] and [0.1, 0.1, 0.8]. Row 1: log p = -ln 3 everywhere, loss ln 3.
            // Row 2: p = [4/6, 1/6, 1/6], loss -0.1 ln(2/3) - 0.9 ln(1/6). Mean weighted by w[y] = 1, 3.
            NDArray logits = m.create(new float[] {0, 0, 0, (float) Math.log(4), 0, 0}, new Shape(2, 3));
            NDArray labels = m.create(new int[] {0, 2});
            float v = new WeightedCrossEntropy(new float[] {1, 2, 3}, 0.3)
                    .evaluate(new NDList(labels), new NDList(logits)).getFloat();
            double row2 = -0.1 * Math.log(2.0 / 3) + 0.9 * Math.log(6);
            assertThat((double) v).isCloseTo((Math.log(3) + 3 * row2) / 4, within(1e-6));
            assertThat((double) v).isCloseTo(1.5145006, within(1e-6));
        }
    }

    @Test
    void withoutSmoothingTheLossIsBitForBitTheUnsmoothedFormula() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray logits = m.randomNormal(new Shape(7, 5));
            NDArray labels = m.create(new int[] {0, 4, 2, 2, 1, 3, 0});
            float[] w = {0.5f, 1.7f, 3f, 0.9f, 1.1f};
            // The loss as it was computed before label smoothing existed.
            NDArray oneHot = labels.toType(DataType.INT64, false).oneHot(5);
            NDArray nll = logits.logSoftmax(1).mul(oneHot).sum(new int[] {1}).neg();
            NDArray wy = oneHot.mul(m.create(w)).sum(new int[] {1});
            float before = nll.mul(wy).sum().div(wy.sum()).getFloat();
            assertThat(new WeightedCrossEntropy(w, 0).evaluate(new NDList(labels), new NDList(logits)).getFloat())
                    .isEqualTo(before);
            assertThat(new WeightedCrossEntropy(w).evaluate(new NDList(labels), new NDList(logits)).getFloat())
                    .isEqualTo(before);
        }
    }

    @Test
    void aMixedBatchsLossIsTheLambdaCombinationOfBothLabelsLosses() {
        try (NDManager m = NDManager.newBaseManager()) {
            // Logits [0, 0] and [ln 3, 0]; y_a = [0, 1], y_b = [1, 0]; weights [1, 3], no smoothing.
            // loss(y_a) = (1 ln 2 + 3 ln 4) / 4 = 7 ln 2 / 4; loss(y_b) = (3 ln 2 + 1 ln(4/3)) / 4.
            NDArray logits = m.create(new float[] {0, 0, (float) Math.log(3), 0}, new Shape(2, 2));
            NDArray ya = m.create(new int[] {0, 1});
            NDArray yb = m.create(new int[] {1, 0});
            WeightedCrossEntropy ce = new WeightedCrossEntropy(new float[] {1, 3});
            double la = 7 * Math.log(2) / 4;
            double lb = (3 * Math.log(2) + Math.log(4.0 / 3)) / 4;
            assertThat((double) ce.mixed(logits, ya, yb, 0.25f).getFloat()).isCloseTo(0.25 * la + 0.75 * lb, within(1e-6))
                    .isCloseTo(0.7470876, within(1e-6));
            float a = ce.evaluate(new NDList(ya), new NDList(logits)).getFloat();
            float b = ce.evaluate(new NDList(yb), new NDList(logits)).getFloat();
            assertThat(ce.mixed(logits, ya, yb, 0.25f).getFloat()).isCloseTo(0.25f * a + 0.75f * b, within(1e-6f));
            // Smoothing applies to both terms.
            WeightedCrossEntropy smooth = new WeightedCrossEntropy(new float[] {1, 3}, 0.2);
            float sa = smooth.evaluate(new NDList(ya), new NDList(logits)).getFloat();
            float sb = smooth.evaluate(new NDList(yb), new NDList(logits)).getFloat();
            assertThat(smooth.mixed(logits, ya, yb, 0.6f).getFloat()).isCloseTo(0.6f * sa + 0.4f * sb, within(1e-6f));
        }
    }

    @Test
    void mixupBlendsEachImageWithItsPartnerAndCutMixPastesABox() {
        try (NDManager m = NDManager.newBaseManager()) {
            // Three 1-channel 4x4 "images" filled with 1, 2 and 3.
            float[] px = new float[3 * 16];
            for (int i = 0; i < px.length; i++) {
                px[i] = i / 16 + 1;
            }
            NDArray x = m.create(px, new Shape(3, 1, 4, 4));
            NDArray shuffled = x.get(m.create(new long[] {2, 0, 1}));
            assertThat(shuffled.get(0).getFloat(0, 0, 0)).isEqualTo(3f);
            NDArray mixed = BatchMix.mixup(x, shuffled, 0.25f);
            assertThat(mixed.get(0).toFloatArray()).containsOnly(0.25f * 1 + 0.75f * 3);
            assertThat(mixed.get(1).toFloatArray()).containsOnly(0.25f * 2 + 0.75f * 1);
            // Rows 1..2, columns 0..2 of image 0 come from image 2.
            NDArray cut = BatchMix.cutmix(x, shuffled, new int[] {1, 3, 0, 3});
            float[] first = cut.get(0).toFloatArray();
            int threes = 0;
            for (int i = 0; i < 16; i++) {
                boolean inBox = i / 4 >= 1 && i / 4 < 3 && i % 4 < 3;
                assertThat(first[i]).isEqualTo(inBox ? 3f : 1f);
                threes += inBox ? 1 : 0;
            }
            assertThat(threes).isEqualTo(6);
            assertThat(x.get(0).toFloatArray()).containsOnly(1f); // the batch itself is left as it was
        }
    }

    @Test
    void cutMixsLambdaIsTheFractionOfTheImageOutsideTheClippedBox() {
        // lambda 0.75 on 10 px: side int(10 * sqrt(0.25)) = 5, half 2 either side of the centre.
        int[] centred = BatchMix.box(10, 0.75, 5, 5);
        assertThat(centred).containsExactly(3, 7, 3, 7);
        assertThat(BatchMix.kept(centred, 10)).isCloseTo(1 - 16 / 100.0, within(1e-12));
        // In a corner the box is clipped to 2 x 2.
        int[] corner = BatchMix.box(10, 0.75, 0, 0);
        assertThat(corner).containsExactly(0, 2, 0, 2);
        assertThat(BatchMix.kept(corner, 10)).isCloseTo(0.96, within(1e-12));
        assertThat(BatchMix.kept(BatchMix.box(10, 1.0, 4, 4), 10)).isEqualTo(1.0);
    }

    @Test
    void betaDrawsHaveTheBetaDistributionsMeanAndVariance() {
        SplittableRandom rng = new SplittableRandom(3);
        for (double alpha : new double[] {0.2, 1.0, 2.0}) {
            int n = 40_000;
            double sum = 0;
            double sq = 0;
            for (int i = 0; i < n; i++) {
                double b = BatchMix.beta(alpha, rng);
                assertThat(b).isBetween(0.0, 1.0);
                sum += b;
                sq += b * b;
            }
            double mean = sum / n;
            // Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)).
            assertThat(mean).as("alpha %s", alpha).isCloseTo(0.5, within(0.01));
            assertThat(sq / n - mean * mean).as("alpha %s", alpha).isCloseTo(1 / (4 * (2 * alpha + 1)), within(0.006));
        }
    }

    @Test
    void theSameSeedMixesTheSameWay() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.randomUniform(0, 1, new Shape(6, 3, 8, 8));
            int[] labels = {0, 1, 2, 3, 4, 0};
            BatchMix both = new BatchMix(0.4, 1.0);
            BatchMix.Mixed a = both.apply(x, labels, new SplittableRandom(9));
            BatchMix.Mixed b = both.apply(x, labels, new SplittableRandom(9));
            assertThat(b.lambda()).isEqualTo(a.lambda());
            assertThat(b.partners()).containsExactly(a.partners());
            assertThat(b.images().toFloatArray()).containsExactly(a.images().toFloatArray());
            assertThat(a.partners()).containsExactlyInAnyOrder(labels);
            assertThat(new BatchMix(0, 0).on()).isFalse();
        }
    }

    @Test
    void theMovingAverageAfterTwoUpdatesIsTheHandValueAndSwapsInAndBack() {
        try (NDManager m = NDManager.newBaseManager()) {
            Block block = Linear.builder().setUnits(1).build();
            block.initialize(m, DataType.FLOAT32, new Shape(1, 2));
            NDArray w = block.getParameters().get("weight").getArray();
            NDArray bias = block.getParameters().get("bias").getArray();
            w.set(new float[] {1, 2});
            bias.set(new float[] {0});
            try (WeightEma ema = new WeightEma(block, 0.15, m)) {
                // Update 1: d = min(0.15, 1/10) = 0.1 -> 0.1 [1, 2] + 0.9 [3, 4] = [2.8, 3.8].
                w.set(new float[] {3, 4});
                assertThat(ema.nextDecay()).isEqualTo(0.1);
                ema.update();
                // Update 2: d = min(0.15, 2/11) = 0.15 -> 0.15 [2.8, 3.8] + 0.85 [5, 6] = [4.67, 5.67].
                w.set(new float[] {5, 6});
                assertThat(ema.nextDecay()).isEqualTo(0.15);
                ema.update();
                assertThat(ema.updates()).isEqualTo(2);
                float[] avg = ema.averages().get("weight").toFloatArray();
                assertThat(avg[0]).isCloseTo(4.67f, within(1e-5f));
                assertThat(avg[1]).isCloseTo(5.67f, within(1e-5f));
                ema.swap();
                assertThat(block.getParameters().get("weight").getArray().toFloatArray())
                        .containsExactly(avg);
                assertThat(ema.averages().get("weight").toFloatArray()).containsExactly(5f, 6f);
                ema.swap();
                assertThat(w.toFloatArray()).containsExactly(5f, 6f);
                assertThat(ema.averages().get("weight").toFloatArray()).containsExactly(avg);
            }
        }
    }

    @Test
    void aCheckpointKeepsTheRawWeightsAndTheAverageWithItsStepCount(@TempDir Path tmp) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            Block block = Linear.builder().setUnits(1).build();
            block.initialize(m, DataType.FLOAT32, new Shape(1, 2));
            NDArray w = block.getParameters().get("weight").getArray();
            w.set(new float[] {1, 2});
            Path file = tmp.resolve("last.ckpt");
            Checkpoints.Progress progress = new Checkpoints.Progress(3, 2, 0.5);
            try (WeightEma ema = new WeightEma(block, 0.5, m)) {
                w.set(new float[] {3, 4});
                ema.update();
                Checkpoints.save(file, block, null, ema, progress);
                Checkpoints.save(tmp.resolve("plain.ckpt"), block, null, null, progress);
            }
            Block other = Linear.builder().setUnits(1).build();
            other.initialize(m, DataType.FLOAT32, new Shape(1, 2));
            try (WeightEma ema = new WeightEma(other, 0.5, m)) {
                assertThat(Checkpoints.load(file, other, null, ema, m)).isEqualTo(progress);
                assertThat(other.getParameters().get("weight").getArray().toFloatArray()).containsExactly(3f, 4f);
                // 0.1 [1, 2] + 0.9 [3, 4] after one update, whose count continues the warm-up.
                float[] avg = ema.averages().get("weight").toFloatArray();
                assertThat(avg[0]).isCloseTo(2.8f, within(1e-6f));
                assertThat(avg[1]).isCloseTo(3.8f, within(1e-6f));
                assertThat(ema.updates()).isEqualTo(1);
                assertThatThrownBy(() -> Checkpoints.load(tmp.resolve("plain.ckpt"), other, null, ema, m))
                        .isInstanceOf(java.io.IOException.class)
                        .hasMessageEndingWith("holds no moving average of the weights, which this run keeps");
            }
            // A checkpoint with an average loads as any other where none is kept (the model, a run without it).
            assertThat(Checkpoints.load(file, other, null, m)).isEqualTo(progress);
        }
    }
}
