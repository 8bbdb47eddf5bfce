package org.wbctransfer.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import java.nio.DoubleBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class NarrowConv2dTest {

    private static Conv2d.Builder threeFilters() {
        return Conv2d.builder().setFilters(3).setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1));
    }

    @Test
    void hasConv2dsParametersAndComputesWhatItComputes() {
        try (NDManager m = NDManager.newBaseManager()) {
            Shape in = new Shape(2, 16, 8, 8);
            Block plain = threeFilters().build();
            Block narrow = new NarrowConv2d(threeFilters());
            plain.initialize(m, DataType.FLOAT32, in);
            narrow.initialize(m, DataType.FLOAT32, in);
            WeightInit.apply(plain, 1);
            WeightInit.apply(narrow, 1);
            List<Parameter> a = plain.getParameters().values();
            List<Parameter> b = narrow.getParameters().values();
            assertThat(b).extracting(Parameter::getName).containsExactlyElementsOf(a.stream().map(Parameter::getName).toList());
            for (int i = 0; i < a.size(); i++) {
                assertThat(b.get(i).getArray().getShape()).isEqualTo(a.get(i).getArray().getShape());
            }
            NDArray x = m.randomNormal(in);
            float[] want = plain.forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow().toFloatArray();
            float[] got = narrow.forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow().toFloatArray();
            assertThat(got).containsExactly(want, org.assertj.core.data.Offset.offset(1e-5f));
        }
    }

    /**
     * The fault it avoids was intermittent (right on some calls, 30-90 % off or NaN on others), so
     * several draws, each against float64 gradients, which do not go through oneDNN.
     */
    @Test
    void itsGradientsEqualFloat64GradientsOnEveryDraw() {
        Shape in = new Shape(4, 16, 32, 32);
        for (int draw = 0; draw < 6; draw++) {
            try (NDManager m = NDManager.newBaseManager()) {
                Block[] conv = {new NarrowConv2d(threeFilters()), new NarrowConv2d(threeFilters())};
                DataType[] types = {DataType.FLOAT32, DataType.FLOAT64};
                for (int k = 0; k < 2; k++) {
                    conv[k].initialize(m, types[k], in);
                }
                WeightInit.apply(conv[0], draw);
                List<Parameter> p32 = conv[0].getParameters().values();
                List<Parameter> p64 = conv[1].getParameters().values();
                for (int i = 0; i < p32.size(); i++) {
                    p64.get(i).getArray().set(DoubleBuffer.wrap(p32.get(i).getArray().toType(DataType.FLOAT64, false).toDoubleArray()));
                }
                NDArray x = m.randomNormal(in);
                NDArray[] xs = new NDArray[2];
                for (int k = 0; k < 2; k++) {
                    xs[k] = x.toType(types[k], true);
                    xs[k].setRequiresGradient(true);
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray y = conv[k].forward(new ParameterStore(m, false), new NDList(xs[k]), true).singletonOrThrow();
                        gc.backward(y.square().mean());
                    }
                }
                assertClose(xs[0].getGradient(), xs[1].getGradient(), "input gradient, draw " + draw);
                for (int i = 0; i < p32.size(); i++) {
                    assertClose(p32.get(i).getArray().getGradient(), p64.get(i).getArray().getGradient(),
                            p32.get(i).getName() + " gradient, draw " + draw);
                }
            }
        }
    }

    private static void assertClose(NDArray f32, NDArray f64, String what) {
        double scale = f64.abs().max().getDouble();
        double err = f32.toType(DataType.FLOAT64, false).sub(f64).abs().max().getDouble();
        assertThat(scale).as(what).isGreaterThan(0);
        assertThat(err / scale).as(what).isLessThan(1e-4);
    }
}
