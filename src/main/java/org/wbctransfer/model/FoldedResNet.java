package org.wbctransfer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.pooling.Pool;
import java.util.ArrayList;
import java.util.List;

/**
 * A trained ResNet-18 for inference with every BatchNorm folded into the convolution before it:
 * in inference BatchNorm is a fixed per-channel scale and shift, so {@code w' = w * g / sqrt(v + eps)}
 * and {@code b' = beta - m * g / sqrt(v + eps)} give the same outputs (to float rounding) with 20
 * fewer passes over the activations. libtorch's eager mode does not fuse them by itself.
 * The folded weights are a copy (about 45 MB); the source block is not changed.
 */
public final class FoldedResNet implements AutoCloseable {

    private static final float BN_EPS = 1e-5f;

    /** A convolution with the BatchNorm after it folded in. */
    private record Conv(NDArray weight, NDArray bias, Shape stride, Shape padding) {
        NDArray apply(NDArray x) {
            return Conv2d.conv2d(x, weight, bias, stride, padding, new Shape(1, 1), 1).singletonOrThrow();
        }
    }

    /** One BasicBlock: conv1, conv2 and the projection shortcut (null for identity). */
    private record Basic(Conv conv1, Conv conv2, Conv shortcut) {}

    private final NDManager manager;
    private final Conv stem;
    private final List<Basic> blocks;
    private final NDArray headWeight;
    private final NDArray headBias;
    private final boolean channelsLast;

    private FoldedResNet(NDManager manager, Conv stem, List<Basic> blocks, NDArray headWeight, NDArray headBias,
            boolean channelsLast) {
        this.manager = manager;
        this.stem = stem;
        this.blocks = blocks;
        this.headWeight = headWeight;
        this.headBias = headBias;
        this.channelsLast = channelsLast;
    }

    /**
     * Folds a {@link ResNet18#classifier} (parameters initialized). With {@code channelsLast} the
     * folded weights are stored channels-last and {@link #forward} converts its input likewise.
     */
    public static FoldedResNet of(SequentialBlock classifier, NDManager parent, boolean channelsLast) {
        List<Parameter> params = classifier.getParameters().values();
        NDManager manager = parent.newSubManager();
        try {
            Reader r = new Reader(params, manager, channelsLast);
            Conv stem = r.conv(2, 3);
            List<Basic> blocks = r.blocks();
            // The head has no BatchNorm: its arrays are used as they are.
            NDArray w = r.next(Parameter.Type.WEIGHT);
            NDArray b = r.next(Parameter.Type.BIAS);
            if (r.index != params.size()) {
                throw new IllegalArgumentException("not a ResNet-18 classifier: " + params.size() + " parameters");
            }
            return new FoldedResNet(manager, stem, List.copyOf(blocks), w, b, channelsLast);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** Logits for a batch (N, 3, H, W); intermediate arrays live in the input's manager. */
    public NDArray forward(NDArray input) {
        return logits(features(input));
    }

    /** The head applied to pooled features (N, 512). */
    public NDArray logits(NDArray features) {
        return Linear.linear(features, headWeight, headBias).singletonOrThrow();
    }

    /** The pooled features (N, 512) the head reads. */
    public NDArray features(NDArray input) {
        return run(input, false);
    }

    /**
     * The global average of every stage's output, concatenated: stem (64), layer1 (64), layer2
     * (128), layer3 (256), layer4 (512), so (N, 1024), the last 512 being {@link #features}. Early
     * stages see colour and texture, where another microscope's images differ first.
     */
    public NDArray stageFeatures(NDArray input) {
        return run(input, true);
    }

    private NDArray run(NDArray input, boolean everyStage) {
        NDArray x = channelsLast ? Formats.channelsLast(input) : input;
        x = Activation.relu(stem.apply(x));
        x = Pool.maxPool2d(x, new Shape(3, 3), new Shape(2, 2), new Shape(1, 1), false);
        List<NDArray> pooled = new java.util.ArrayList<>();
        if (everyStage) {
            pooled.add(pool(x));
        }
        for (int i = 0; i < blocks.size(); i++) {
            Basic b = blocks.get(i);
            NDArray y = Activation.relu(b.conv1().apply(x));
            y = b.conv2().apply(y);
            NDArray shortcut = b.shortcut() == null ? x : b.shortcut().apply(x);
            x = Activation.relu(y.add(shortcut));
            if (everyStage && i % 2 == 1 && i < blocks.size() - 1) {
                pooled.add(pool(x));
            }
        }
        pooled.add(pool(x));
        return pooled.size() == 1 ? pooled.get(0) : NDArrays.concat(new NDList(pooled.toArray(new NDArray[0])), 1);
    }

    private static NDArray pool(NDArray x) {
        NDArray p = Pool.globalAvgPool2d(x);
        return p.reshape(p.getShape().get(0), -1);
    }

    /** A folded convolution as plain arrays: weight (out, in, k, k) row-major, bias (out). */
    public record ConvWeights(float[] weight, long[] shape, float[] bias, int stride, int padding) {}

    /** One BasicBlock's folded convolutions; {@code shortcut} is null for the identity. */
    public record BlockWeights(ConvWeights conv1, ConvWeights conv2, ConvWeights shortcut) {}

    /**
     * The folded network as plain arrays, for writing it in another format ({@link OnnxExport}):
     * the stem, the eight BasicBlocks in order, and the head (classes x 512, row-major).
     */
    public record Weights(ConvWeights stem, List<BlockWeights> blocks, float[] headWeight, long[] headShape,
            float[] headBias) {}

    /** This network's folded weights as plain arrays; only for a default-format (not channels-last) fold. */
    public Weights weights() {
        if (channelsLast) {
            throw new IllegalStateException("weights() reads a default-format fold; fold again without channels-last");
        }
        return new Weights(arrays(stem), arrays(blocks), headWeight.toFloatArray(), headWeight.getShape().getShape(),
                headBias.toFloatArray());
    }

    /**
     * A {@link MaskNet}'s weights as plain arrays, for writing it in another format ({@link
     * OnnxExport#segmenter}): the backbone folded as above, the four lateral 1x1 convolutions and the
     * classifier as they are (they have biases and no BatchNorm), the smoothing convolution with its
     * BatchNorm folded in.
     */
    public record SegmenterWeights(ConvWeights stem, List<BlockWeights> blocks, List<ConvWeights> lateral,
            ConvWeights smooth, ConvWeights classify) {}

    /** Folds a {@link MaskNet} (parameters initialized); the network is not changed. */
    public static SegmenterWeights segmenter(MaskNet net, NDManager parent) {
        List<Parameter> params = net.getParameters().values();
        try (NDManager manager = parent.newSubManager()) {
            Reader r = new Reader(params, manager, false);
            ConvWeights stem = arrays(r.conv(2, 3));
            List<BlockWeights> blocks = arrays(r.blocks());
            List<ConvWeights> lateral = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                lateral.add(r.unfolded());
            }
            ConvWeights smooth = arrays(r.conv(1, 1));
            ConvWeights classify = r.unfolded();
            if (r.index != params.size()) {
                throw new IllegalArgumentException("not a MaskNet on a ResNet-18: " + params.size() + " parameters");
            }
            return new SegmenterWeights(stem, blocks, List.copyOf(lateral), smooth, classify);
        }
    }

    private static List<BlockWeights> arrays(List<Basic> blocks) {
        return blocks.stream().map(b -> new BlockWeights(arrays(b.conv1()), arrays(b.conv2()),
                b.shortcut() == null ? null : arrays(b.shortcut()))).toList();
    }

    private static ConvWeights arrays(Conv c) {
        return new ConvWeights(c.weight().toFloatArray(), c.weight().getShape().getShape(), c.bias().toFloatArray(),
                (int) c.stride().get(0), (int) c.padding().get(0));
    }

    @Override
    public void close() {
        manager.close();
    }

    /** Walks the classifier's parameters in the order ResNet18 registers them. */
    private static final class Reader {
        private final List<Parameter> params;
        private final NDManager manager;
        private final boolean channelsLast;
        int index;

        Reader(List<Parameter> params, NDManager manager, boolean channelsLast) {
            this.params = params;
            this.manager = manager;
            this.channelsLast = channelsLast;
        }

        NDArray next(Parameter.Type type) {
            if (index >= params.size() || params.get(index).getType() != type) {
                throw new IllegalArgumentException("not a ResNet-18 classifier: expected a " + type + " parameter at "
                        + index + (index < params.size() ? ", found " + params.get(index).getName() : ""));
            }
            return params.get(index++).getArray();
        }

        /** The eight BasicBlocks of layer1..layer4, in order. */
        List<Basic> blocks() {
            List<Basic> blocks = new ArrayList<>();
            int in = 64;
            for (int width : new int[] {64, 128, 256, 512}) {
                for (int i = 0; i < 2; i++) {
                    int stride = i == 0 && width != 64 ? 2 : 1;
                    Conv c1 = conv(stride, 1);
                    Conv c2 = conv(1, 1);
                    Conv sc = i == 0 && (stride != 1 || in != width) ? conv(stride, 0) : null;
                    blocks.add(new Basic(c1, c2, sc));
                }
                in = width;
            }
            return blocks;
        }

        /** A stride-1 convolution with a bias and no BatchNorm, padded to keep its size, copied out as it is. */
        ConvWeights unfolded() {
            NDArray w = next(Parameter.Type.WEIGHT);
            NDArray b = next(Parameter.Type.BIAS);
            return new ConvWeights(w.toFloatArray(), w.getShape().getShape(), b.toFloatArray(), 1,
                    (int) w.getShape().get(2) / 2);
        }

        Conv conv(int stride, int pad) {
            NDArray w = next(Parameter.Type.WEIGHT);
            NDArray gamma = next(Parameter.Type.GAMMA);
            NDArray beta = next(Parameter.Type.BETA);
            NDArray mean = next(Parameter.Type.RUNNING_MEAN);
            NDArray var = next(Parameter.Type.RUNNING_VAR);
            NDArray scale = gamma.div(var.add(BN_EPS).sqrt());
            NDArray folded = w.mul(scale.reshape(-1, 1, 1, 1));
            NDArray bias = beta.sub(mean.mul(scale));
            if (channelsLast) {
                NDArray cl = Formats.channelsLast(folded);
                folded.close();
                folded = cl;
            }
            folded.attach(manager);
            bias.attach(manager);
            scale.close();
            return new Conv(folded, bias, new Shape(stride, stride), new Shape(pad, pad));
        }
    }
}
