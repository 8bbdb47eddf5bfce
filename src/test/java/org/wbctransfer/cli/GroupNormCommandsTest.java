package org.wbctransfer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;
import org.wbctransfer.model.BackboneBundle;

/** {@code wbc train --norm group} and the commands that meet a GroupNorm model, on real Raabin images. */
class GroupNormCommandsTest {

    @TempDir
    Path tmp;

    @Test
    void trainWithGroupNormThenUseItAndRefuseBatchNormAdaptation() throws Exception {
        Path data = tmp.resolve("data");
        for (String c : TestData.CLASSES) {
            Files.createDirectories(data.resolve(c));
            for (String rel : TestData.firstImages(c, 10)) {
                Files.copy(TestData.raabin().resolve(rel), data.resolve(rel));
            }
        }
        String cache = tmp.resolve("cache").toString();
        Path run = tmp.resolve("run");
        WbcCliTest.Result train = WbcCliTest.run("train", "--data", data.toString(), "--subset", "WBC_100", "--norm",
                "group", "--epochs", "1", "--image-size", "32", "--batch", "8", "--run-dir", run.toString(),
                "--cache-dir", cache, "--no-progress");
        assertThat(train.code()).as(train.err()).isZero();
        assertThat(train.out()).contains("macro avg");
        assertThat(Files.readString(run.resolve("config.json"))).contains("\"norm\" : \"group\"");
        assertThat(run.resolve("eval-test/metrics.json")).isRegularFile();

        Path image = data.resolve(TestData.firstImages("Lymphocyte", 1).get(0));
        WbcCliTest.Result predict = WbcCliTest.run("predict", run.toString(), image.toString());
        assertThat(predict.code()).as(predict.err()).isZero();
        assertThat(predict.out()).contains(image.getFileName().toString());
        WbcCliTest.Result explain = WbcCliTest.run("explain", run.toString(), image.toString(), "--out",
                tmp.resolve("cam.png").toString());
        assertThat(explain.code()).as(explain.err()).isZero();
        assertThat(tmp.resolve("cam.png")).isRegularFile();

        String refusal = "wbc: error: --adapt-bn: this model uses GroupNorm, which keeps no BatchNorm statistics to"
                + " re-estimate (it normalises each image by its own)";
        WbcCliTest.Result predictBn = WbcCliTest.run("predict", run.toString(), data.toString(), "--adapt-bn");
        assertThat(predictBn.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(predictBn.err().strip()).isEqualTo(refusal);
        WbcCliTest.Result evaluateBn = WbcCliTest.run("evaluate", run.toString(), "--folder", data.toString(),
                "--adapt-bn", "--cache-dir", cache);
        assertThat(evaluateBn.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(evaluateBn.err().strip()).isEqualTo(refusal);
        assertThat(run.resolve("eval-data-adapt-bn")).doesNotExist();

        // wbc adapt re-estimates BatchNorm statistics unless told not to: with GroupNorm it says so and refits the head.
        WbcCliTest.Result adapt = WbcCliTest.run("adapt", run.toString(), "--labelled", data.toString(), "--shots", "5",
                "--steps", "5", "--out", tmp.resolve("adapted").toString(), "--cache-dir", cache);
        assertThat(adapt.code()).as(adapt.err()).isZero();
        assertThat(adapt.err()).contains("GroupNorm model: no BatchNorm statistics to re-estimate; refitting the head only");
        assertThat(Files.readString(tmp.resolve("adapted/adaptation.json"))).contains("\"batchNormImages\" : 0");
    }

    @Test
    void groupNormFromABackboneBundleOrAnUnknownNormIsAOneLineError() throws Exception {
        Path bundle = tmp.resolve("bundle");
        Files.createDirectories(bundle);
        Files.writeString(bundle.resolve(BackboneBundle.METADATA), "{\"format\": \"" + BackboneBundle.FORMAT + "\"}");
        Path run = tmp.resolve("run");
        WbcCliTest.Result r = WbcCliTest.run("train", "--data", TestData.raabin().toString(), "--manifest",
                TestData.manifest(tmp, 2, 1).toString(), "--norm", "group", "--init", bundle.toString(), "--run-dir",
                run.toString(), "--cache-dir", tmp.resolve("cache").toString());
        assertThat(r.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(r.err().strip()).isEqualTo("wbc: error: a GroupNorm network cannot start from a pre-trained backbone:"
                + " backbone bundles are BatchNorm networks; train GroupNorm from scratch (no --init or pretrain)");
        assertThat(run).doesNotExist();
        WbcCliTest.Result bad = WbcCliTest.run("train", "--data", TestData.raabin().toString(), "--manifest",
                tmp.resolve("manifest.csv").toString(), "--norm", "instance", "--run-dir", run.toString());
        assertThat(bad.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(bad.err().strip()).isEqualTo("wbc: error: unknown normalisation 'instance' (expected batch, group or layer)");
        assertThat(WbcCliTest.run("train", "--help").out()).contains("--norm").contains("Default: batch");
    }
}
