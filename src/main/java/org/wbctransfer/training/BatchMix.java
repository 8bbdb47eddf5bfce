package org.wbctransfer.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import java.util.random.RandomGenerator;

/**
 * Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019): a training batch x mixed with a
 * permutation of itself, lambda ~ Beta(alpha, alpha). Mixup blends whole images,
 * lambda x + (1 - lambda) x[perm]; CutMix pastes a box of x[perm] into x and lambda becomes the
 * fraction of x's pixels left. The loss is {@link WeightedCrossEntropy#mixed}; the images' own
 * labels are y_a, those of the images mixed in y_b. Every draw comes from the generator the
 * caller seeds, so a run repeats.
 */
final class BatchMix {

    /** A mixed batch: its images, the labels of the images mixed into each (y_b), and x's share lambda. */
    record Mixed(NDArray images, int[] partners, float lambda) {}

    private final double mixup;
    private final double cutmix;

    /** Beta alphas; 0 turns that kind off. */
    BatchMix(double mixupAlpha, double cutmixAlpha) {
        this.mixup = mixupAlpha;
        this.cutmix = cutmixAlpha;
    }

    boolean on() {
        return mixup > 0 || cutmix > 0;
    }

    /** Mixes a batch (N, C, S, S) with the given labels; with both kinds on, each is taken with probability 1/2. */
    Mixed apply(NDArray x, int[] labels, RandomGenerator rng) {
        boolean cut = mixup == 0 || (cutmix > 0 && rng.nextBoolean());
        double lambda = beta(cut ? cutmix : mixup, rng);
        long[] perm = new long[labels.length];
        for (int i = 0; i < perm.length; i++) {
            int j = rng.nextInt(i + 1);
            perm[i] = perm[j];
            perm[j] = i;
        }
        int[] partners = new int[labels.length];
        for (int i = 0; i < partners.length; i++) {
            partners[i] = labels[(int) perm[i]];
        }
        NDArray shuffled = x.get(x.getManager().create(perm));
        if (!cut) {
            return new Mixed(mixup(x, shuffled, (float) lambda), partners, (float) lambda);
        }
        int s = (int) x.getShape().get(2);
        int[] box = box(s, lambda, rng.nextInt(s), rng.nextInt(s));
        return new Mixed(cutmix(x, shuffled, box), partners, (float) kept(box, s));
    }

    static NDArray mixup(NDArray x, NDArray shuffled, float lambda) {
        return x.mul(lambda).add(shuffled.mul(1 - lambda));
    }

    /** x with the box {y0, y1, x0, x1} (end exclusive) taken from shuffled. */
    static NDArray cutmix(NDArray x, NDArray shuffled, int[] box) {
        NDArray out = x.duplicate();
        if (box[1] > box[0] && box[3] > box[2]) {
            NDIndex region = new NDIndex().addAllDim(2).addSliceDim(box[0], box[1]).addSliceDim(box[2], box[3]);
            out.set(region, shuffled.get(region));
        }
        return out;
    }

    /**
     * CutMix's box as timm's {@code rand_bbox}: sides int(S sqrt(1 - lambda)), half of each
     * (rounded down) either side of the centre (cy, cx), clipped to the image; {y0, y1, x0, x1}.
     */
    static int[] box(int size, double lambda, int cy, int cx) {
        int half = (int) (size * Math.sqrt(1 - lambda)) / 2;
        return new int[] {Math.max(cy - half, 0), Math.min(cy + half, size), Math.max(cx - half, 0),
                Math.min(cx + half, size)};
    }

    /** The fraction of an S x S image outside the box: CutMix's lambda once the box is clipped. */
    static double kept(int[] box, int size) {
        return 1 - (double) (box[1] - box[0]) * (box[3] - box[2]) / ((double) size * size);
    }

    /** Beta(alpha, alpha) as X / (X + Y) of two Gamma(alpha) draws. */
    static double beta(double alpha, RandomGenerator rng) {
        double x = gamma(alpha, rng);
        double sum = x + gamma(alpha, rng);
        // Both draws underflow to 0 only for an alpha far below any used (0.01 or so).
        return sum > 0 ? x / sum : 0.5;
    }

    /** Gamma(a, 1) by Marsaglia and Tsang (2000), with their U^(1/a) boost for a < 1. */
    static double gamma(double a, RandomGenerator rng) {
        if (a < 1) {
            return gamma(a + 1, rng) * Math.pow(1 - rng.nextDouble(), 1 / a);
        }
        double d = a - 1.0 / 3;
        double c = 1 / Math.sqrt(9 * d);
        while (true) {
            double z = rng.nextGaussian();
            double v = 1 + c * z;
            if (v <= 0) {
                continue;
            }
            v = v * v * v;
            if (Math.log(1 - rng.nextDouble()) < 0.5 * z * z + d - d * v + d * Math.log(v)) {
                return d * v;
            }
        }
    }
}
