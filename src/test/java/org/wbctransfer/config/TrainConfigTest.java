package org.wbctransfer.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.wbctransfer.util.Json;

class TrainConfigTest {

    @Test
    void theDefaultWarmUpIsWrittenAsTheDecimalItIs() throws Exception {
        TrainConfig c = TrainConfig.builder().setData(Path.of("/data/raabin/train"), Path.of("/runs/split.csv"))
                .setSubset("WBC_100").optEpochs(12).build();
        assertThat(c.warmupEpochs()).isEqualTo(0.6);
        assertThat(Json.MAPPER.writeValueAsString(c)).contains("\"warmupEpochs\" : 0.6,");
        assertThat(TrainConfig.builder().setData(Path.of("/d"), Path.of("/m.csv")).setSubset("WBC_1").optEpochs(30).build()
                .warmupEpochs()).isEqualTo(1.5);
    }

    @Test
    void pathsAreMadeRelativeToTheFolderTrainingRanIn() {
        TrainConfig c = TrainConfig.builder().setData(Path.of("/work/shared/datasets/raabin-wbc/train"),
                Path.of("/work/runs/split-seed1.csv")).setSubset("WBC_100").optCacheDir(Path.of("/work/cache")).build();
        TrainConfig r = c.relativeTo(Path.of("/work/project"));
        assertThat(r.dataRoot()).isEqualTo("../shared/datasets/raabin-wbc/train");
        assertThat(r.manifest()).isEqualTo("../runs/split-seed1.csv");
        assertThat(r.cacheDir()).isEqualTo("../cache");
        assertThat(r.init()).isNull();
        assertThat(c.relativeTo(Path.of("/work/shared/datasets/raabin-wbc/train")).dataRoot()).isEqualTo(".");
    }

    @Test
    void theTrainingLeversAreRecordedAndAConfigWithoutThemReadsAsOff() throws Exception {
        TrainConfig c = TrainConfig.builder().setData(Path.of("/d"), Path.of("/m.csv")).setSubset("WBC_50")
                .optLabelSmoothing(0.1).optMixing(0.2, 1.0).optEmaDecay(0.999).build();
        String json = Json.MAPPER.writeValueAsString(c);
        assertThat(json).contains("\"labelSmoothing\" : 0.1,", "\"mixup\" : 0.2,", "\"cutmix\" : 1.0,",
                "\"emaDecay\" : 0.999");
        TrainConfig back = Json.MAPPER.readValue(json, TrainConfig.class);
        assertThat(back).isEqualTo(c);
        // A refit and the metadata's copy keep them.
        assertThat(c.asRefit(7, "given")).extracting(TrainConfig::labelSmoothing, TrainConfig::mixup,
                TrainConfig::cutmix, TrainConfig::emaDecay).containsExactly(0.1, 0.2, 1.0, 0.999);
        assertThat(c.relativeTo(Path.of("/"))).extracting(TrainConfig::labelSmoothing, TrainConfig::mixup,
                TrainConfig::cutmix, TrainConfig::emaDecay).containsExactly(0.1, 0.2, 1.0, 0.999);

        // A committed config.json written before the levers existed.
        Path old = Path.of("docs/confirm/baseline/WBC_1-split0-seed0/config.json");
        assertThat(java.nio.file.Files.readString(old)).doesNotContain("labelSmoothing").doesNotContain("mixup").doesNotContain("emaDecay");
        TrainConfig before = Json.read(old, TrainConfig.class);
        assertThat(before).extracting(TrainConfig::labelSmoothing, TrainConfig::mixup, TrainConfig::cutmix,
                TrainConfig::emaDecay).containsExactly(0.0, 0.0, 0.0, 0.0);
        before.validate();
    }

    @Test
    void leversOutsideTheirRangesAreRefused() {
        TrainConfig.Builder b = TrainConfig.builder().setData(Path.of("/d"), Path.of("/m.csv")).setSubset("WBC_50");
        assertThatThrownBy(() -> b.optLabelSmoothing(0.5).build()).isInstanceOf(org.wbctransfer.util.UserException.class)
                .hasMessage("label smoothing must be in [0, 0.5), got 0.5");
        b.optLabelSmoothing(0);
        assertThatThrownBy(() -> b.optMixing(-0.1, 0).build()).hasMessage("mixup alpha must be >= 0 (0 is off), got -0.1");
        assertThatThrownBy(() -> b.optMixing(0, Double.NaN).build()).hasMessageContaining("cutmix alpha must be >= 0");
        b.optMixing(0, 0);
        assertThatThrownBy(() -> b.optEmaDecay(1).build()).hasMessage("EMA decay must be in [0, 1) (0 is off), got 1.0");
    }
}
