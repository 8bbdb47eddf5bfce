package org.wbctransfer.config;

import static org.assertj.core.api.Assertions.assertThat;

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
}
