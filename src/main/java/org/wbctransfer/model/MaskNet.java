package org.wbctransfer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.List;

/**
 * The ResNet backbone with a light FPN-style decoder for per-pixel classes. Lateral 1x1
 * convolutions bring layer1..layer4 (strides 4..32) to 64 channels, a top-down path adds each
 * level to the nearest-upsampled coarser one, and a 3x3 conv+BN+ReLU and a 1x1 classifier act
 * at stride 4; bilinear upsampling brings the logits to the input size. About 0.1 M parameters
 * against the backbone's 11 M, so the segmentation skill has to live in the backbone, which is
 * what the masks pre-training stage is for; the whole network, saved by that stage, is also what
 * {@link CellCrop} finds cells with.
 */
public final class MaskNet extends AbstractBlock {

    public static final int WIDTH = 64;
    private static final int[] IN_CHANNELS = {64, 128, 256, 512}; // layer1..layer4

    private final ResNetBackbone backbone;
    private final Block[] lateral = new Block[4];
    private final Block smooth;
    private final Block classify;
    private final int classes;

    public MaskNet(ResNetBackbone backbone, int classes) {
        this.classes = classes;
        this.backbone = addChildBlock("backbone", backbone);
        for (int i = 0; i < 4; i++) {
            lateral[i] = addChildBlock("lateral" + (i + 1), conv(WIDTH, 1, true));
        }
        smooth = addChildBlock("smooth", new SequentialBlock()
                .add(conv(WIDTH, 3, false))
                .add(BatchNorm.builder().optEpsilon(1e-5f).optMomentum(0.9f).build())
                .add(Activation.reluBlock()));
        classify = addChildBlock("classify", conv(classes, 1, true));
    }

    /** The decoder blocks (everything but the backbone): initialized and discarded by the stage. */
    public List<Block> decoder() {
        return List.of(lateral[0], lateral[1], lateral[2], lateral[3], smooth, classify);
    }

    /**
     * Initializes the decoder for an input of size x size; the backbone must already be
     * initialized (it usually carries weights from an earlier stage).
     */
    public void initializeDecoder(NDManager manager, int size) {
        int s = size;
        s = (s + 2 * 3 - 7) / 2 + 1; // stem conv 7x7 stride 2 pad 3
        s = (s + 2 - 3) / 2 + 1; // max pool 3x3 stride 2 pad 1
        int h1 = s;
        for (int i = 0; i < 4; i++) {
            lateral[i].initialize(manager, DataType.FLOAT32, new Shape(1, IN_CHANNELS[i], s, s));
            s = (s + 2 - 3) / 2 + 1; // first conv of the next layer: 3x3 stride 2 pad 1
        }
        smooth.initialize(manager, DataType.FLOAT32, new Shape(1, WIDTH, h1, h1));
        classify.initialize(manager, DataType.FLOAT32, new Shape(1, WIDTH, h1, h1));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        int h = (int) x.getShape().get(2);
        int w = (int) x.getShape().get(3);
        List<NDList> f = backbone.stageOutputs(ps, inputs, training); // stem, layer1..layer4
        NDArray p = lateral[3].forward(ps, f.get(4), training).singletonOrThrow();
        for (int i = 2; i >= 0; i--) {
            NDArray c = lateral[i].forward(ps, f.get(i + 1), training).singletonOrThrow();
            p = c.add(upsample2(p, c.getShape().get(2), c.getShape().get(3)));
        }
        p = smooth.forward(ps, new NDList(p), training).singletonOrThrow();
        NDArray logits = classify.forward(ps, new NDList(p), training).singletonOrThrow();
        return new NDList(bilinear(logits, h, w));
    }

    /**
     * Nearest x2 upsampling by repeating rows and columns, cropped to the finer level: with sizes
     * not divisible by 32 the coarser level holds ceil(n / 2) cells, one more than half.
     */
    public static NDArray upsample2(NDArray x, long h, long w) {
        NDArray up = x.repeat(2, 2).repeat(3, 2);
        if (up.getShape().get(2) != h || up.getShape().get(3) != w) {
            up = up.get(":, :, :{}, :{}", h, w);
        }
        return up;
    }

    /**
     * Bilinear resize of (N, C, h, w) to (N, C, H, W) as two products with fixed interpolation
     * matrices (PyTorch's align_corners=False sampling): differentiable with plain matMul, so it
     * needs no engine-specific interpolation call and works for any output size.
     */
    public static NDArray bilinear(NDArray x, int outH, int outW) {
        int h = (int) x.getShape().get(2);
        int w = (int) x.getShape().get(3);
        NDManager m = x.getManager();
        NDArray rows = m.create(interpolation(h, outH), new Shape(outH, h));
        NDArray colsT = m.create(interpolation(w, outW), new Shape(outW, w)).transpose();
        return rows.matMul(x).matMul(colsT);
    }

    /** (out x in) matrix mapping in samples to out samples by linear interpolation. */
    public static float[] interpolation(int in, int out) {
        float[] a = new float[out * in];
        double scale = (double) in / out;
        for (int o = 0; o < out; o++) {
            double src = Math.max(0, (o + 0.5) * scale - 0.5);
            int i0 = Math.min((int) src, in - 1);
            int i1 = Math.min(i0 + 1, in - 1);
            float t = (float) (src - i0);
            a[o * in + i0] += 1 - t;
            a[o * in + i1] += t;
        }
        return a;
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {new Shape(in.get(0), classes, in.get(2), in.get(3))};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        if (!backbone.isInitialized()) {
            backbone.initialize(manager, dataType, inputShapes);
        }
        initializeDecoder(manager, (int) inputShapes[0].get(2));
    }

    private static Block conv(int filters, int kernel, boolean bias) {
        return Conv2d.builder()
                .setFilters(filters)
                .setKernelShape(new Shape(kernel, kernel))
                .optPadding(new Shape(kernel / 2, kernel / 2))
                .optBias(bias)
                .build();
    }
}
