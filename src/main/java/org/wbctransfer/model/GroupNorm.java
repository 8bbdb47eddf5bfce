package org.wbctransfer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Group normalisation (Wu and He 2018) of an (N, C, ...) array: each image's channels fall into
 * {@code groups} groups, each group is normalised by that image's own mean and variance (over its
 * channels and pixels), then every channel gets its learned scale (gamma) and shift (beta).
 *
 * <p>Why: BatchNorm's inference uses running statistics of the training microscope's activations,
 * and a new microscope's images shift them (Tsutsui et al. 2023 trace ResNet's poor transfer
 * between WBC datasets to this); GroupNorm keeps no statistics and computes the same in training
 * and inference, whatever the batch. DJL 0.36 has BatchNorm, LayerNorm and GhostBatchNorm, but no
 * GroupNorm, hence this block.
 */
public final class GroupNorm extends AbstractBlock {

    /** Wu and He's choice for ResNets; every ResNet-18 width (64 to 512) is a multiple of it. */
    public static final int DEFAULT_GROUPS = 32;
    /** As torch.nn.GroupNorm. */
    public static final float DEFAULT_EPSILON = 1e-5f;

    private static final byte VERSION = 1;

    private final int groups;
    private final float epsilon;
    private final Parameter gamma;
    private final Parameter beta;

    public GroupNorm() {
        this(DEFAULT_GROUPS, DEFAULT_EPSILON);
    }

    public GroupNorm(int groups, float epsilon) {
        super(VERSION);
        if (groups < 1) {
            throw new IllegalArgumentException("groups must be at least 1, got " + groups);
        }
        this.groups = groups;
        this.epsilon = epsilon;
        // GAMMA and BETA: DJL initialises them to ones and zeros, WeightInit does the same, and
        // ResNetBackbone's freezing treats them like BatchNorm's.
        gamma = addParameter(Parameter.builder().setName("gamma").setType(Parameter.Type.GAMMA).build());
        beta = addParameter(Parameter.builder().setName("beta").setType(Parameter.Type.BETA).build());
    }

    public int groups() {
        return groups;
    }

    /**
     * The normalisation itself: x of shape (N, C, ...) with C a multiple of {@code groups}, gamma and
     * beta of shape (C). The variance is the biased one (divided by the count), as PyTorch's.
     * Results live in x's manager.
     */
    public static NDArray groupNorm(NDArray x, NDArray gamma, NDArray beta, int groups, float epsilon) {
        Shape shape = x.getShape();
        long n = shape.get(0);
        long c = shape.get(1);
        if (c % groups != 0) {
            throw new IllegalArgumentException(c + " channels do not fall into " + groups + " groups");
        }
        NDArray grouped = x.reshape(n, groups, -1);
        long k = grouped.getShape().get(2);
        // LayerNorm over the last axis of (N, G, C/G * H * W) is exactly the per-group statistics,
        // and libtorch runs it as one fused kernel forward and backward: half the time of the same
        // sums as separate mean, subtract, square and divide operations. Its own per-element
        // affine is left at 1 and 0; GroupNorm's is per channel, below.
        NDManager m = x.getManager();
        NDArray normalised = LayerNorm.layerNorm(grouped, new Shape(k), m.ones(new Shape(k)), m.zeros(new Shape(k)),
                epsilon).singletonOrThrow().reshape(shape);
        long[] perChannel = new long[shape.dimension()];
        java.util.Arrays.fill(perChannel, 1);
        perChannel[1] = c;
        // A reshaped parameter would belong to the parameter's manager and live as long as the
        // model: one more array per layer and step. Moved to x's manager it goes with the batch.
        NDArray g = gamma.reshape(perChannel);
        NDArray b = beta.reshape(perChannel);
        g.attach(x.getManager());
        b.attach(x.getManager());
        return normalised.mul(g).add(b);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray g = ps.getValue(gamma, x.getDevice(), training);
        NDArray b = ps.getValue(beta, x.getDevice(), training);
        return new NDList(groupNorm(x, g, b, groups, epsilon));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    public void prepare(Shape[] inputShapes) {
        long c = inputShapes[0].get(1);
        if (c % groups != 0) {
            throw new IllegalArgumentException(c + " channels do not fall into " + groups + " groups");
        }
        gamma.setShape(new Shape(c));
        beta.setShape(new Shape(c));
    }
}
