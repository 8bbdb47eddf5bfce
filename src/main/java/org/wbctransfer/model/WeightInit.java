package org.wbctransfer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.util.Random;

/**
 * torchvision's initialization for ResNet, drawn from a Java generator seeded by the run seed so
 * that initial weights are identical on every machine: convolutions He-normal (fan-out, ReLU
 * gain), BatchNorm and GroupNorm scale 1 and shift 0, linear layers and biases uniform(+-1/sqrt(fan-in)).
 */
public final class WeightInit {

    private WeightInit() {}

    public static void apply(Block block, long seed) {
        Random rng = new Random(seed);
        long fanIn = ResNet18.FEATURES;
        for (Pair<String, Parameter> p : block.getParameters()) {
            Parameter param = p.getValue();
            NDArray a = param.getArray();
            long[] s = a.getShape().getShape();
            int n = (int) a.size();
            float[] v = new float[n];
            switch (param.getType()) {
                case WEIGHT -> {
                    fanIn = 1;
                    for (int d = 1; d < s.length; d++) {
                        fanIn *= s[d];
                    }
                    if (s.length == 4) {
                        double std = Math.sqrt(2.0 / (s[0] * s[2] * s[3]));
                        for (int i = 0; i < n; i++) {
                            v[i] = (float) (rng.nextGaussian() * std);
                        }
                    } else {
                        uniform(v, rng, 1.0 / Math.sqrt(fanIn));
                    }
                }
                case BIAS -> {
                    // PyTorch's default: the bound of the layer's own weight (a bias follows its weight).
                    uniform(v, rng, 1.0 / Math.sqrt(fanIn));
                }
                case GAMMA, RUNNING_VAR -> java.util.Arrays.fill(v, 1f);
                default -> { } // BETA, RUNNING_MEAN: zeros
            }
            fill(a, v);
        }
    }

    private static void uniform(float[] v, Random rng, double bound) {
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        }
    }

    /**
     * Overwrites every element of {@code target} with {@code values} (row-major). Through an
     * indexed assignment, not NDArray.set(Buffer): DJL's native set enters libtorch's deprecated
     * AutoNonVariableTypeMode, which prints a C++ warning on stderr that no setting silences
     * (libtorch reads TORCH_CPP_LOG_LEVEL only when Python initialises it). Same values, bit for bit.
     */
    static void fill(NDArray target, float[] values) {
        try (NDArray src = target.getManager().create(values, target.getShape())) {
            target.set(new ai.djl.ndarray.index.NDIndex("..."), src);
        }
    }
}
