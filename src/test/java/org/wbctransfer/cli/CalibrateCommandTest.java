package org.wbctransfer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.training.WbcTrainer;

/** wbc calibrate on a tiny run with a validation carve-out, and its refusals. */
class CalibrateCommandTest {

    @TempDir
    Path tmp;

    private Path train(int valPercent) throws Exception {
        Path dir = tmp.resolve("v" + valPercent);
        Files.createDirectories(dir);
        Path manifest = TestData.manifest(dir, 8, 2);
        TrainConfig cfg = TrainConfig.builder().setData(TestData.raabin(), manifest).setSubset("WBC_100").optImageSize(64)
                .optBatchSize(8).optEpochs(2).optWarmupEpochs(1.0).optSeed(5).optValidation(valPercent, 10)
                .optCacheDir(tmp.resolve("cache")).build();
        Path run = dir.resolve("run");
        try (Classifier c = new WbcTrainer(cfg, List.of(), false, false).fit(run, false)) {
            Evaluation.testSplit(c, cfg, run, false);
        }
        return run;
    }

    @Test
    void fitsATemperatureOnValidationAndStoresItWithoutReadingTheTestImagesAgain() throws Exception {
        Path run = train(25);
        long testEvalTime = Files.getLastModifiedTime(run.resolve("eval-test/metrics.json")).toMillis();
        WbcCliTest.Result r = WbcCliTest.run("calibrate", run.toString());
        assertThat(r.code()).as(r.err()).isZero();
        // 8 training images per class, 25 % of them held out: 2 per class.
        assertThat(r.out()).contains("fitted on 10 validation images").contains("test split, before: calibration: ECE (15 bins)");
        JsonNode md = new ObjectMapper().readTree(run.resolve("model/metadata.json").toFile());
        double t = md.path("temperature").asDouble();
        assertThat(t).isBetween(0.05, 20.0);
        JsonNode rec = new ObjectMapper().readTree(run.resolve("eval-test/temperature.json").toFile());
        assertThat(rec.path("temperature").asDouble()).isEqualTo(t);
        assertThat(rec.path("testImages").asInt()).isEqualTo(10);
        assertThat(rec.path("validationNllAfter").asDouble()).isLessThanOrEqualTo(rec.path("validationNllBefore").asDouble() + 1e-9);
        assertThat(Files.getLastModifiedTime(run.resolve("eval-test/metrics.json")).toMillis()).isEqualTo(testEvalTime);
        try (Classifier c = Classifier.load(run.resolve("model"))) {
            assertThat(c.metadata().softmaxTemperature()).isEqualTo(t);
        }
        WbcCliTest.Result again = WbcCliTest.run("calibrate", run.toString());
        assertThat(again.code()).isEqualTo(2);
        assertThat(again.err()).contains("already calibrated").contains("--force refits it");
        WbcCliTest.Result forced = WbcCliTest.run("calibrate", run.toString(), "--force");
        assertThat(forced.code()).as(forced.err()).isZero();
        // Refitted from the same validation probabilities at temperature 1: the same temperature.
        assertThat(new ObjectMapper().readTree(run.resolve("model/metadata.json").toFile()).path("temperature").asDouble())
                .isEqualTo(t);
        assertThat(new ObjectMapper().readTree(run.resolve("eval-test/temperature.json").toFile())
                .path("testAfter").path("accuracyAtCoverage").has("0.950")).isTrue();
    }

    @Test
    void aRunWithoutAValidationCarveOutGetsNoTemperature() throws Exception {
        Path run = train(0);
        WbcCliTest.Result r = WbcCliTest.run("calibrate", run.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("has no validation carve-out").contains("none is set");
        assertThat(new ObjectMapper().readTree(run.resolve("model/metadata.json").toFile()).has("temperature")).isFalse();
        assertThat(WbcCliTest.run("calibrate", tmp.toString()).err()).contains("not a finished run");
    }
}
