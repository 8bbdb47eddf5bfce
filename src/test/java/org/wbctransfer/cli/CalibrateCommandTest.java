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
        assertThat(again.err()).contains("already calibrated").contains("--force refits both");
        WbcCliTest.Result forced = WbcCliTest.run("calibrate", run.toString(), "--force");
        assertThat(forced.code()).as(forced.err()).isZero();
        // Refitted from the same validation probabilities at temperature 1: the same temperature.
        assertThat(new ObjectMapper().readTree(run.resolve("model/metadata.json").toFile()).path("temperature").asDouble())
                .isEqualTo(t);
        assertThat(new ObjectMapper().readTree(run.resolve("eval-test/temperature.json").toFile())
                .path("testAfter").path("accuracyAtCoverage").has("0.950")).isTrue();
    }

    /**
     * The out-of-distribution score: fitted by calibrate, carried into the bundle, reported per image
     * by predict, and a folder of non-cell images gets the warning.
     */
    @Test
    void fitsAnOutOfDistributionScoreThatPredictReportsAndWarnsAbout() throws Exception {
        Path run = train(25);
        WbcCliTest.Result r = WbcCliTest.run("calibrate", run.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("out-of-distribution score mahalanobis: threshold").contains("of 10 validation images");
        JsonNode md = new ObjectMapper().readTree(run.resolve("model/metadata.json").toFile());
        assertThat(md.path("ood").path("score").asText()).isEqualTo("mahalanobis");
        assertThat(md.path("ood").path("percentile").asDouble()).isEqualTo(99.0);
        assertThat(md.path("ood").path("thresholdImages").asInt()).isEqualTo(10);
        assertThat(md.path("ood").path("fitImages").asInt()).isEqualTo(30); // 6 per class left for training
        // The validation confusion the differential count corrects with: 2 images of each of the 5 classes.
        assertThat(md.path("validationConfusion")).hasSize(5);
        long total = 0;
        for (JsonNode row : md.path("validationConfusion")) {
            long rowSum = 0;
            for (JsonNode v : row) {
                rowSum += v.asLong();
            }
            assertThat(rowSum).isEqualTo(2);
            total += rowSum;
        }
        assertThat(total).isEqualTo(10);
        assertThat(run.resolve("model/" + org.wbctransfer.model.OodDetector.FILE)).isRegularFile();

        Path bundle = tmp.resolve("bundle");
        assertThat(WbcCliTest.run("export", run.toString(), "--out", bundle.toString()).code()).isZero();
        assertThat(bundle.resolve(org.wbctransfer.model.OodDetector.FILE)).isRegularFile();

        // Raabin images the model never saw: columns present, few flagged, no warning.
        Path cells = tmp.resolve("cells");
        Files.createDirectories(cells);
        try (var files = Files.list(org.wbctransfer.TestData.raabin().resolve("Lymphocyte"))) {
            for (Path f : files.sorted().skip(100).limit(12).toList()) {
                Files.copy(f, cells.resolve(f.getFileName()));
            }
        }
        WbcCliTest.Result own = WbcCliTest.run("predict", bundle.toString(), cells.toString(), "--no-progress");
        assertThat(own.code()).as(own.err()).isZero();
        String header = own.out().lines().findFirst().orElseThrow();
        assertThat(header).endsWith(",ood_score,out_of_distribution");
        assertThat(own.err()).contains("differential count of").contains("Lymphocyte");

        // Blank slide background and noise: flagged, and the folder gets one warning.
        Path junk = tmp.resolve("junk");
        OodStudyCommand.generate(junk, 6);
        WbcCliTest.Result bad = WbcCliTest.run("predict", bundle.toString(), junk.toString(), "--no-progress", "-o",
                tmp.resolve("junk.json").toString());
        assertThat(bad.code()).as(bad.err()).isZero();
        assertThat(bad.err()).contains("wbc: warning: 6 of 6 image(s) (100 %) look out of distribution");
        JsonNode doc = new ObjectMapper().readTree(tmp.resolve("junk.json").toFile());
        assertThat(doc.path("predictions").get(0).path("outOfDistribution").asBoolean()).isTrue();
        assertThat(doc.path("differentialCount").path("flaggedOutOfDistribution").asInt()).isEqualTo(6);
        assertThat(doc.path("differentialCount").path("confusionCorrected").asBoolean()).isTrue();
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
