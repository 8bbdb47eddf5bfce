package org.wbctransfer.pretrain;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.model.BackboneBundle;
import org.wbctransfer.model.ResNetBackbone;
import org.wbctransfer.util.Json;

class AutoencoderStageTest {

    @TempDir
    Path tmp;

    @Test
    void upsamplingIsNearestNeighbour() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[] {1, 2, 3, 4}, new Shape(1, 1, 2, 2));
            NDArray y = AutoencoderStage.upsample2x(x);
            assertThat(y.getShape()).isEqualTo(new Shape(1, 1, 4, 4));
            assertThat(y.toFloatArray()).containsExactly(1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4);
        }
    }

    @Test
    void reconstructsImagesOfSizesThatAreNotMultiplesOf32() {
        try (Model model = Model.newInstance("t")) {
            ResNetBackbone backbone = PretrainTestData.backbone(model, 3);
            Block decoder = AutoencoderStage.decoder();
            Shape in = new Shape(2, 3, 40, 40);
            decoder.initialize(model.getNDManager(), DataType.FLOAT32, AutoencoderStage.encodedShape(in));
            var net = new AutoencoderStage.Reconstruction(backbone, decoder);
            NDArray y = net.forward(new ParameterStore(model.getNDManager(), false),
                    new NDList(model.getNDManager().randomNormal(in)), false).singletonOrThrow();
            assertThat(y.getShape()).isEqualTo(in);
        }
    }

    @Test
    void trainsTheBackboneToReconstructPcamPatches() throws Exception {
        Path data = PretrainTestData.pcam();
        try (Model model = Model.newInstance("t")) {
            ResNetBackbone backbone = PretrainTestData.backbone(model, 5);
            List<float[]> before = PretrainTestData.snapshot(backbone);
            PretrainContext ctx = new PretrainContext(backbone, model.getNDManager(), PretrainTestData.SIZE, 5,
                    Files.createDirectories(tmp.resolve("stage")), tmp.resolve("cache"), false, false);
            BackboneBundle.Stage st = new AutoencoderStage("ae", data, 3, 16, 2e-3, 48, ClassificationGuard.of(null, null)).run(ctx);

            assertThat(st.type()).isEqualTo("autoencoder");
            assertThat(st.metrics().get("heldOutImages")).isEqualTo(2);
            assertThat(st.images()).isEqualTo(46);
            assertThat(PretrainTestData.changed(backbone, before)).isEqualTo(PretrainTestData.trainable(backbone));
            double mse = ((Number) st.metrics().get("heldOutMse")).doubleValue();
            assertThat(mse).isFinite().isPositive();
            assertThat(((Number) st.metrics().get("finalLoss")).doubleValue()).isFinite();
            List<String> rows = Files.readAllLines(tmp.resolve("stage/summary.csv"));
            assertThat(rows).hasSize(4);
            assertThat(rows.get(0)).isEqualTo("epoch,train_loss,heldout_mse,seconds");
            double first = Double.parseDouble(rows.get(1).split(",")[1]);
            double last = Double.parseDouble(rows.get(3).split(",")[1]);
            assertThat(last).isLessThan(first);
            Json.write(tmp.resolve("stage.json"), st);
        }
    }
}
