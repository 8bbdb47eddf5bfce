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
import org.junit.jupiter.api.Test;

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

    @Test
    void channelsLastCopyOfResNetGivesTheSameLogitsAndTrains() {
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
