package org.wbctransfer.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import org.junit.jupiter.api.Test;

class ResNet18Test {

    private static long trainable(ai.djl.nn.Block b) {
        long n = 0;
        for (Pair<String, Parameter> p : b.getParameters()) {
            if (p.getValue().requiresGradient()) {
                n += p.getValue().getArray().size();
            }
        }
        return n;
    }

    @Test
    void hasTorchvisionParameterCount() {
        try (Model model = Model.newInstance("t")) {
            SequentialBlock net = ResNet18.classifier(5);
            model.setBlock(net);
            net.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, 64, 64));
            // torchvision resnet18: 11,689,512 with the 1000-class head (513,000 of them).
            assertThat(trainable(net)).isEqualTo(11_179_077L);
            assertThat(trainable(ResNet18.backboneOf(net))).isEqualTo(11_176_512L);
            assertThat(trainable(ResNet18.headOf(net))).isEqualTo(512L * 5 + 5);
        }
    }

    @Test
    void forwardAndBackwardProduceShapesAndGradients() {
        try (Model model = Model.newInstance("t")) {
            SequentialBlock net = ResNet18.classifier(5);
            model.setBlock(net);
            NDManager m = model.getNDManager();
            net.initialize(m, DataType.FLOAT32, new Shape(2, 3, 64, 64));
            WeightInit.apply(net, 7);
            NDArray x = m.randomNormal(new Shape(4, 3, 64, 64));
            NDArray features;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDList out = net.forward(new ParameterStore(m, false), new NDList(x), true);
                NDArray logits = out.singletonOrThrow();
                assertThat(logits.getShape()).isEqualTo(new Shape(4, 5));
                gc.backward(logits.sum());
            }
            NDArray firstConv = net.getParameters().get(0).getValue().getArray();
            assertThat(firstConv.getShape()).isEqualTo(new Shape(64, 3, 7, 7));
            assertThat(firstConv.getGradient().abs().sum().getFloat()).isGreaterThan(0f);
            features = ResNet18.backboneOf(net).forward(new ParameterStore(m, false), new NDList(x), false)
                    .singletonOrThrow();
            assertThat(features.getShape()).isEqualTo(new Shape(4, ResNet18.FEATURES));
        }
    }

    @Test
    void initIsDeterministicPerSeedAndFollowsHeNormal() {
        try (Model a = Model.newInstance("a"); Model b = Model.newInstance("b")) {
            SequentialBlock na = ResNet18.classifier(5);
            SequentialBlock nb = ResNet18.classifier(5);
            na.initialize(a.getNDManager(), DataType.FLOAT32, new Shape(1, 3, 64, 64));
            nb.initialize(b.getNDManager(), DataType.FLOAT32, new Shape(1, 3, 64, 64));
            WeightInit.apply(na, 3);
            WeightInit.apply(nb, 3);
            float[] wa = na.getParameters().get(0).getValue().getArray().toFloatArray();
            float[] wb = nb.getParameters().get(0).getValue().getArray().toFloatArray();
            assertThat(wa).containsExactly(wb);
            // He normal, fan-out = 64 * 7 * 7: std = sqrt(2 / 3136) = 0.02525.
            double sq = 0;
            for (float v : wa) {
                sq += v * v;
            }
            assertThat(Math.sqrt(sq / wa.length)).isCloseTo(0.02525, org.assertj.core.data.Offset.offset(0.001));
        }
    }
}
