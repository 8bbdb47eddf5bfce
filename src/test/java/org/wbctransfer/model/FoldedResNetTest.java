package org.wbctransfer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.ParameterStore;
import java.nio.FloatBuffer;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/** BatchNorm folded into the convolutions computes what the network with BatchNorm computes. */
class FoldedResNetTest {

    @Test
    void foldedNetworkGivesTheSameLogitsInBothMemoryFormats() {
        try (Model model = Model.newInstance("t")) {
            SequentialBlock net = ResNet18.classifier(5);
            model.setBlock(net);
            NDManager m = model.getNDManager();
            net.initialize(m, DataType.FLOAT32, new Shape(3, 3, 64, 64));
            WeightInit.apply(net, 3);
            randomizeNorms(net, new Random(7), false);
            NDArray x = m.randomNormal(new Shape(3, 3, 64, 64));
            float[] want = net.forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow().toFloatArray();
            // Channels-last only where this CPU computes it right; elsewhere it is refused (FormatsTest).
            boolean[] formats = Formats.channelsLastIsSound(64) ? new boolean[] {false, true} : new boolean[] {false};
            for (boolean channelsLast : formats) {
                try (FoldedResNet folded = FoldedResNet.of(net, m, channelsLast); NDManager sub = m.newSubManager()) {
                    NDArray in = x.duplicate();
                    in.attach(sub);
                    float[] got = folded.forward(in).toFloatArray();
                    assertThat(got).hasSameSizeAs(want);
                    for (int i = 0; i < want.length; i++) {
                        assertThat((double) got[i]).as("logit %d, channels-last %s", i, channelsLast)
                                .isCloseTo(want[i], Offset.offset(1e-3 * Math.max(1, Math.abs(want[i]))));
                    }
                }
            }
            // The source is untouched: its forward pass gives what it gave before folding.
            float[] again = net.forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow().toFloatArray();
            assertThat(again).containsExactly(want);
        }
    }

    @Test
    void rejectsAnotherArchitecture() {
        try (Model model = Model.newInstance("t")) {
            SequentialBlock other = new SequentialBlock().add(ResNet18.head(5));
            model.setBlock(other);
            other.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 512));
            assertThatThrownBy(() -> FoldedResNet.of(other, model.getNDManager(), false))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a ResNet-18");
        }
    }

    /**
     * The segmenter's ONNX graph labels the pixels as the network on libtorch does, at the bundle's
     * 96 px (every level even) and at 40 px (odd levels: the upsampled map is cropped).
     */
    @Test
    void segmenterGraphOnOnnxRuntimeLabelsAsTheNetworkDoes() {
        for (int size : new int[] {96, 40}) {
            try (Model model = Model.newInstance("seg")) {
                MaskNet net = new MaskNet(ResNet18.backbone(), 3);
                model.setBlock(net);
                NDManager m = model.getNDManager();
                net.initialize(m, DataType.FLOAT32, new Shape(2, 3, size, size));
                WeightInit.apply(net, 5);
                randomizeNorms(net, new Random(11), true);
                NDArray x = m.randomNormal(new Shape(2, 3, size, size));
                long[] want = net.forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow()
                        .argMax(1).toLongArray();
                byte[] graph = OnnxExport.segmenter(FoldedResNet.segmenter(net, m), size).toByteArray();
                try (OnnxClassifier session = OnnxClassifier.open(graph, 1)) {
                    long[] got = session.longs(x.toFloatArray(), 2, 3, size, size);
                    assertThat(got).hasSize(2 * size * size);
                    int same = 0;
                    int[] seen = new int[3];
                    for (int i = 0; i < want.length; i++) {
                        same += got[i] == want[i] ? 1 : 0;
                        seen[(int) want[i]]++;
                    }
                    // Only a tie between two classes' scores may go the other way under float rounding.
                    assertThat((double) same / want.length).as("%d px", size).isGreaterThan(0.999);
                    assertThat(java.util.Arrays.stream(seen).min().getAsInt()).as("a network that labels every pixel alike would test nothing").isPositive();
                }
            }
        }
    }

    /**
     * Fresh BatchNorm layers are the identity (scale 1, shift 0, mean 0, variance 1), which would
     * fold to nothing: gives every one of them statistics and an affine of its own (and, with
     * {@code biases}, every bias a value, which fresh ones lack too).
     */
    private static void randomizeNorms(ai.djl.nn.Block net, Random r, boolean biases) {
        for (Parameter p : net.getParameters().values()) {
            float[] v = new float[(int) p.getArray().size()];
            switch (p.getType()) {
                case GAMMA, RUNNING_VAR -> fill(v, () -> 0.5f + r.nextFloat());
                case BETA, RUNNING_MEAN -> fill(v, () -> (float) r.nextGaussian() * 0.3f);
                case BIAS -> {
                    if (!biases) {
                        continue;
                    }
                    fill(v, () -> (float) r.nextGaussian() * 0.3f);
                }
                default -> {
                    continue;
                }
            }
            p.getArray().set(FloatBuffer.wrap(v));
        }
    }

    private static void fill(float[] v, java.util.function.Supplier<Float> f) {
        for (int i = 0; i < v.length; i++) {
            v[i] = f.get();
        }
    }
}
