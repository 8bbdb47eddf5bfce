package org.wbctransfer.pretrain;

import ai.djl.Model;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.wbctransfer.model.ResNet18;
import org.wbctransfer.model.ResNetBackbone;
import org.wbctransfer.model.WeightInit;

/** Real data and a fresh backbone for the pre-training tests. */
final class PretrainTestData {

    static final int SIZE = 32;

    private PretrainTestData() {}

    /** The shared PCam patches; a missing folder must fail the test, never skip it. */
    static Path pcam() {
        return Path.of(System.getProperty("wbc.data", "../shared/datasets")).resolve("pcam-camelyon16");
    }

    static ResNetBackbone backbone(Model model, long seed) {
        ResNetBackbone b = ResNet18.backbone();
        b.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, SIZE, SIZE));
        WeightInit.apply(b, seed);
        return b;
    }

    /** A copy of every backbone array, to tell whether training moved them. */
    static List<float[]> snapshot(ResNetBackbone b) {
        List<float[]> out = new ArrayList<>();
        b.getParameters().forEach(p -> out.add(p.getValue().getArray().toFloatArray()));
        return out;
    }

    /** How many of the trainable arrays differ from the snapshot. */
    static int changed(ResNetBackbone b, List<float[]> before) {
        int n = 0;
        int i = 0;
        for (var p : b.getParameters()) {
            float[] now = p.getValue().getArray().toFloatArray();
            if (p.getValue().requiresGradient() && !java.util.Arrays.equals(now, before.get(i))) {
                n++;
            }
            i++;
        }
        return n;
    }

    static long trainable(ResNetBackbone b) {
        return b.getParameters().stream().filter(p -> p.getValue().requiresGradient()).count();
    }
}
