package org.wbctransfer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.wbctransfer.util.UserException;

/** Channels-last copies compute what the original computes; no timing here. */
class FormatsTest {

    @Test
    void channelsLastKeepsShapeAndValues() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.arange(2 * 3 * 4 * 5).toType(DataType.FLOAT32, false).reshape(2, 3, 4, 5);
            NDArray cl = Formats.channelsLast(x);
            assertThat(cl.getShape()).isEqualTo(x.getShape());
            assertThat(cl.toFloatArray()).containsExactly(x.toFloatArray());
            NDArray v = m.create(new float[] {1, 2, 3});
            assertThat(Formats.channelsLast(v)).isSameAs(v);
        }
    }

    /**
     * The probe's verdict is the truth: float64 convolutions do not go through oneDNN, so a float64
     * copy of the network is a reference that the CPU's fast kernels cannot share a fault with.
     */
    @Test
    void theChannelsLastProbeSaysWhetherThatFormatMatchesAFloat64Reference() {
        for (int size : new int[] {32, 64}) {
            try (Model model = Model.newInstance("t")) {
                SequentialBlock net = ResNet18.classifier(5);
                model.setBlock(net);
                NDManager m = model.getNDManager();
                net.initialize(m, DataType.FLOAT32, new Shape(2, 3, size, size));
                WeightInit.apply(net, 5);
                NDArray x = m.randomNormal(new Shape(2, 3, size, size));
                SequentialBlock f64 = Formats.convertedCopy(net, 5, a -> a.toType(DataType.FLOAT64, true), false);
                NDArray ref = f64.forward(new ParameterStore(m, false), new NDList(x.toType(DataType.FLOAT64, true)), false)
                        .singletonOrThrow().toType(DataType.FLOAT32, false);
                NDArray plain = net.forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow();
                SequentialBlock cl = Formats.convertedCopy(net, 5, Formats::channelsLast, false);
                NDArray last = cl.forward(new ParameterStore(m, false), new NDList(Formats.channelsLast(x)), false)
                        .singletonOrThrow();
                // The default format is right wherever the suite runs; everything else rests on it.
                assertThat(plain.sub(ref).abs().max().getFloat()).as("default format, %d px", size).isLessThan(1e-3f);
                boolean lastIsRight = last.sub(ref).abs().max().getFloat() < 1e-3f;
                assertThat(Formats.channelsLastIsSound(size)).as("probe at %d px", size).isEqualTo(lastIsRight);
                if (lastIsRight) {
                    Formats.requireChannelsLast(size);
                } else {
                    assertThatThrownBy(() -> Formats.requireChannelsLast(size)).isInstanceOf(UserException.class)
                            .hasMessageStartingWith("--channels-last: this CPU's convolution kernels compute the"
                                    + " channels-last format wrongly")
                            .hasMessageContaining("ONEDNN_MAX_CPU_ISA=AVX2");
                }
            }
        }
    }

    @Test
    void channelsLastCopyOfResNetGivesTheSameLogitsAndTrains() {
        // Where the kernels are faulty the format is refused (the test above checks that refusal).
        Assumptions.assumeTrue(Formats.channelsLastIsSound(32), "this CPU computes channels-last wrongly");
        try (Model model = Model.newInstance("t")) {
            SequentialBlock net = ResNet18.classifier(5);
            model.setBlock(net);
            NDManager m = model.getNDManager();
            net.initialize(m, DataType.FLOAT32, new Shape(2, 3, 32, 32));
            WeightInit.apply(net, 3);
            NDArray x = m.randomNormal(new Shape(2, 3, 32, 32));
            float[] want = net.forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow().toFloatArray();

            SequentialBlock cl = Formats.convertedCopy(net, 5, Formats::channelsLast, true);
            float[] got = cl.forward(new ParameterStore(m, false), new NDList(Formats.channelsLast(x)), false)
                    .singletonOrThrow().toFloatArray();
            assertThat(got).hasSameSizeAs(want);
            for (int i = 0; i < want.length; i++) {
                assertThat((double) got[i]).isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-4));
            }
            // The copy's parameters own their memory, so autograd and in-place updates work.
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logits = cl.forward(new ParameterStore(m, false), new NDList(Formats.channelsLast(x)), true)
                        .singletonOrThrow();
                gc.backward(logits.sum());
            }
            NDArray w = cl.getParameters().get(0).getValue().getArray();
            assertThat(w.getGradient().abs().sum().getFloat()).isGreaterThan(0f);
            w.subi(w.getGradient().mul(1e-3f));
        }
    }

    @Test
    void convertedCopyRejectsAnotherArchitecture() {
        try (Model model = Model.newInstance("t")) {
            SequentialBlock net = ResNet18.classifier(5);
            model.setBlock(net);
            net.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, 32, 32));
            SequentialBlock other = new SequentialBlock().add(ResNet18.head(5));
            other.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 512));
            assertThatThrownBy(() -> Formats.convertedCopy(other, 5, Formats::channelsLast, false))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
