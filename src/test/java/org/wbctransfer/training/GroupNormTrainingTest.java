package org.wbctransfer.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.SplitData;
import org.wbctransfer.data.SplitManifest;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.explain.GradCam;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;

/** WbcTrainerTest's short training on real Raabin-WBC images, with GroupNorm. */
class GroupNormTrainingTest {

    @TempDir
    Path tmp;

    @Test
    void aGroupNormRunSavesTheNetworkItTrainedAndReloadsIt() throws Exception {
        Path m = TestData.manifest(tmp, 8, 4);
        TrainConfig cfg = TrainConfig.builder().setData(TestData.raabin(), m).setSubset("WBC_100").optImageSize(32)
                .optBatchSize(8).optEpochs(1).optWarmupEpochs(0.0).optSeed(11).optValidation(0, 1000)
                .optCacheDir(tmp.resolve("cache")).optNorm(TrainConfig.Norm.GROUP).build();
        SplitManifest sm = SplitManifest.read(m);
        SplitData data = SplitData.open(TestData.raabin(), sm, 32, tmp.resolve("cache"));
        List<BatchLoader.Sample> test = data.samples(sm.test(), new ArrayList<>());
        assertThat(test).hasSize(20);
        Path run = tmp.resolve("run");
        float[][] trained;
        try (Classifier c = new WbcTrainer(cfg, List.of(), false, false).fit(run, false)) {
            trained = Evaluation.run(c, data.cache(), test).probabilities();
        }
        // 40 training images in 5 steps of 8: one epoch, finite loss.
        List<String> summary = Files.readAllLines(run.resolve("summary.csv"));
        assertThat(summary).hasSize(2);
        // Five classes: a network that knows nothing scores ln 5 = 1.61.
        assertThat(Double.parseDouble(summary.get(1).split(",")[2])).isBetween(0.5, 5.0);
        assertThat(Files.readString(run.resolve("config.json"))).contains("\"norm\" : \"group\"");
        JsonNode md = Json.MAPPER.readTree(run.resolve("model/metadata.json").toFile());
        assertThat(md.path("training").path("norm").asText()).isEqualTo("group");
        assertThat(Json.read(run.resolve("config.json"), TrainConfig.class)).isEqualTo(cfg);

        try (Classifier c = Classifier.load(run.resolve("model"))) {
            assertThat(c.metadata().norm()).isEqualTo(TrainConfig.Norm.GROUP);
            float[][] reloaded = Evaluation.run(c, data.cache(), test).probabilities();
            assertThat(reloaded.length).isEqualTo(trained.length);
            for (int i = 0; i < trained.length; i++) {
                // The same weights through the same (unfolded) network: the same floats.
                assertThat(reloaded[i]).as("image %d", i).containsExactly(trained[i]);
            }
            // GroupNorm's per-call arrays go with the call, not with the model.
            int live = WbcTrainerTest.liveArrays();
            Evaluation.run(c, data.cache(), test);
            assertThat(WbcTrainerTest.liveArrays()).isEqualTo(live);
            float sum = 0;
            for (float p : trained[0]) {
                sum += p;
            }
            assertThat(sum).isCloseTo(1f, within(1e-5f));

            float[] image = new float[3 * 32 * 32];
            new org.wbctransfer.data.Augmenter(org.wbctransfer.config.Augmentation.none(), c.metadata().normalization(), 32)
                    .plain(data.cache().pixels(test.get(0).cacheIndex()), image, 0);
            GradCam.Result cam = GradCam.compute(c, image, -1, GradCam.Layer.LAYER4);
            for (int k = 0; k < 5; k++) {
                assertThat(cam.probabilities()[k]).isCloseTo(trained[0][k], within(1e-5f));
            }
            assertThat(cam.cam()).hasSize(1); // 32 px / stride 32
            assertThat(cam.gradients()).isNotEmpty();

            List<float[]> target = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                target.add(image);
            }
            assertThatThrownBy(() -> c.adaptBatchNorm(target)).isInstanceOf(UserException.class)
                    .hasMessageContaining("this model uses GroupNorm");
            // Refused before anything changed.
            assertThat(Evaluation.run(c, data.cache(), test).probabilities()[0]).containsExactly(trained[0]);
        }
    }

    @Test
    void aGroupNormRunCannotStartFromABatchNormBackbone() {
        assertThatThrownBy(() -> TrainConfig.builder().setData(tmp, tmp.resolve("m.csv")).setSubset("WBC_10")
                .optInit(tmp.resolve("bundle"), null).optNorm(TrainConfig.Norm.GROUP).build())
                .isInstanceOf(UserException.class)
                .hasMessageContaining("a GroupNorm network cannot start from a pre-trained backbone");
    }
}
