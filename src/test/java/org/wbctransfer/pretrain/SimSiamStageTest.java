package org.wbctransfer.pretrain;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.model.BackboneBundle;
import org.wbctransfer.model.ResNetBackbone;
import org.wbctransfer.util.Json;

class SimSiamStageTest {

    @TempDir
    Path tmp;

    @Test
    void trainsTheBackboneOnUnlabeledPcamPatches() throws Exception {
        Path data = PretrainTestData.pcam().resolve("train");
        try (Model model = Model.newInstance("t")) {
            ResNetBackbone backbone = PretrainTestData.backbone(model, 11);
            List<float[]> before = PretrainTestData.snapshot(backbone);
            PretrainContext ctx = new PretrainContext(backbone, model.getNDManager(), PretrainTestData.SIZE, 11,
                    Files.createDirectories(tmp.resolve("stage")), tmp.resolve("cache"), false, false);
            BackboneBundle.Stage st = new SimSiamStage("ssl", data, 2, 16, 1e-3, 48, ClassificationGuard.of(null, null)).run(ctx);

            assertThat(st.type()).isEqualTo("simsiam");
            assertThat(st.images()).isEqualTo(48);
            assertThat(st.dataSha256()).hasSize(64);
            assertThat(st.epochs()).isEqualTo(2);
            assertThat(PretrainTestData.changed(backbone, before)).isEqualTo(PretrainTestData.trainable(backbone));
            double loss = ((Number) st.metrics().get("finalLoss")).doubleValue();
            double std = ((Number) st.metrics().get("zStd")).doubleValue();
            // Negative cosine similarity lies in [-1, 1]; a collapsed z would have std 0.
            assertThat(loss).isFinite().isBetween(-1.0, 1.0);
            assertThat(std).isFinite().isGreaterThan(0.0);
            List<String> rows = Files.readAllLines(tmp.resolve("stage/summary.csv"));
            assertThat(rows).hasSize(3);
            assertThat(rows.get(0)).isEqualTo("epoch,train_loss,z_std,seconds");
            Json.write(tmp.resolve("stage.json"), st); // the record must serialize into metadata.json
        }
    }
}
