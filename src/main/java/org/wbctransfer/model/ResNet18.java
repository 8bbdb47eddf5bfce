package org.wbctransfer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;
import java.util.List;
import org.wbctransfer.config.TrainConfig;

/**
 * torchvision's ResNet-18 (BasicBlock x [2, 2, 2, 2], 11,689,512 parameters with the 1000-class
 * head; 11,179,077 with 5 classes). DJL's own {@code ResNetV1} with 18 layers builds bottleneck
 * blocks instead, a different and much smaller network, hence this builder.
 *
 * <p>The network is a {@link SequentialBlock} of two children, the backbone (image to a 512-d
 * feature vector) and the head (a linear classifier), so pre-trained backbones can be moved
 * between tasks and heads replaced.
 *
 * <p>With {@link TrainConfig.Norm#GROUP} every BatchNorm is a {@link GroupNorm} of 32 groups
 * instead (the ResNet-GN of Wu and He 2018), with {@link TrainConfig.Norm#LAYER} one of a single
 * group: LayerNorm over each image's channels and pixels with a per-channel scale and shift (Wu
 * and He's "LN" for convolutional networks). The parameters come in the same order, less the
 * running statistics, so the same number are trained.
 */
public final class ResNet18 {

    public static final int FEATURES = 512;
    /** The pooled outputs of the stem and the four layers together (64 + 64 + 128 + 256 + 512). */
    public static final int STAGE_FEATURES = 1024;
    /** Backbone children: stem, layer1..layer4, pooling. Freezing counts stages in this order. */
    public static final int BACKBONE_STAGES = 5;

    private ResNet18() {}

    /** Backbone plus a linear head for {@code numClasses} classes. */
    public static SequentialBlock classifier(int numClasses) {
        return classifier(backbone(), numClasses);
    }

    public static SequentialBlock classifier(int numClasses, TrainConfig.Norm norm) {
        return classifier(backbone(norm), numClasses);
    }

    /** A classifier around an existing (for example pre-trained) backbone. */
    public static SequentialBlock classifier(ResNetBackbone backbone, int numClasses) {
        return new SequentialBlock().add(backbone).add(head(numClasses));
    }

    public static ResNetBackbone backboneOf(SequentialBlock classifier) {
        return (ResNetBackbone) classifier.getChildren().get(0).getValue();
    }

    public static Block headOf(SequentialBlock classifier) {
        return classifier.getChildren().get(1).getValue();
    }

    public static Block head(int numClasses) {
        return Linear.builder().setUnits(numClasses).optBias(true).build();
    }

    /** Image (N, 3, H, W) to features (N, 512); H and W may be any size from 32 up. */
    public static ResNetBackbone backbone() {
        return backbone(TrainConfig.Norm.BATCH);
    }

    public static ResNetBackbone backbone(TrainConfig.Norm norm) {
        SequentialBlock stem = new SequentialBlock()
                .add(conv(64, 7, 2, 3))
                .add(norm(norm))
                .add(Activation.reluBlock())
                .add(Pool.maxPool2dBlock(new Shape(3, 3), new Shape(2, 2), new Shape(1, 1)));
        ResNetBackbone net = new ResNetBackbone();
        net.add(stem);
        int in = 64;
        int[] widths = {64, 128, 256, 512};
        for (int s = 0; s < widths.length; s++) {
            SequentialBlock layer = new SequentialBlock();
            int stride = s == 0 ? 1 : 2;
            layer.add(basicBlock(in, widths[s], stride, norm));
            layer.add(basicBlock(widths[s], widths[s], 1, norm));
            net.add(layer);
            in = widths[s];
        }
        net.add(new SequentialBlock().add(Pool.globalAvgPool2dBlock()).add(Blocks.batchFlattenBlock()));
        return net;
    }

    private static Block basicBlock(int in, int out, int stride, TrainConfig.Norm norm) {
        SequentialBlock main = new SequentialBlock()
                .add(conv(out, 3, stride, 1))
                .add(norm(norm))
                .add(Activation.reluBlock())
                .add(conv(out, 3, 1, 1))
                .add(norm(norm));
        Block shortcut = (stride != 1 || in != out)
                ? new SequentialBlock().add(conv(out, 1, stride, 0)).add(norm(norm))
                : Blocks.identityBlock();
        return new ParallelBlock(ResNet18::addRelu, List.of(main, shortcut));
    }

    private static NDList addRelu(List<NDList> branches) {
        NDArray sum = branches.get(0).singletonOrThrow().add(branches.get(1).singletonOrThrow());
        return new NDList(Activation.relu(sum));
    }

    private static Block conv(int filters, int kernel, int stride, int pad) {
        return Conv2d.builder()
                .setFilters(filters)
                .setKernelShape(new Shape(kernel, kernel))
                .optStride(new Shape(stride, stride))
                .optPadding(new Shape(pad, pad))
                .optBias(false)
                .build();
    }

    private static Block norm(TrainConfig.Norm norm) {
        if (norm == TrainConfig.Norm.GROUP) {
            return new GroupNorm();
        }
        if (norm == TrainConfig.Norm.LAYER) {
            return new GroupNorm(1, GroupNorm.DEFAULT_EPSILON);
        }
        // torchvision: eps 1e-5, momentum 0.1 (DJL counts momentum the other way round).
        return BatchNorm.builder().optEpsilon(1e-5f).optMomentum(0.9f).build();
    }
}
