package org.wbctransfer.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;
import org.wbctransfer.cli.WbcCli;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.ColourStandard;
import org.wbctransfer.data.ImageDecoder;
import org.wbctransfer.data.SplitData;
import org.wbctransfer.data.SplitManifest;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelInput;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;

/** Colour standardisation end to end: training reads standardised pixels, and the bundle standardises later inputs alike. */
class ColourStandardTrainingTest {

    @TempDir
    Path tmp;

    @Test
    void aModelTrainedOnStandardisedColoursStandardisesEveryLaterInput() throws Exception {
        Path m = TestData.manifest(tmp, 8, 4);
        TrainConfig cfg = TrainConfig.builder().setData(TestData.raabin(), m).setSubset("WBC_100").optImageSize(32)
                .optBatchSize(8).optEpochs(1).optSeed(3).optValidation(0, 1000).optCacheDir(tmp.resolve("cache"))
                .optColourStandard(true).build();
        Path run = tmp.resolve("run");
        try (Classifier trained = new WbcTrainer(cfg, List.of(), false, false).fit(run, false)) {
            assertThat(trained.framing()).isSameAs(ColourStandard.INSTANCE);
            assertThat(trained.cellCrop()).isNull();
        }
        assertThat(Files.readString(run.resolve("config.json"))).contains("\"colourStandard\" : true");
        assertThat(Json.read(run.resolve("config.json"), TrainConfig.class)).isEqualTo(cfg);

        Path model = run.resolve("model");
        SplitManifest sm = SplitManifest.read(m);
        try (Classifier c = Classifier.load(model)) {
            assertThat(c.metadata().colourStandard().mean()).containsExactly(59.24, 21.04, -2.73);
            assertThat(c.metadata().preprocessing().description()).contains("colour-standardised");
            // Training read the cache; predict, explain and serve decode through ModelInput: the same pixels,
            // and not the plain ones.
            SplitData data = SplitData.open(TestData.raabin(), sm, 32, c.framing(), tmp.resolve("cache"));
            ModelInput input = c.input();
            for (SplitManifest.Entry e : sm.test()) {
                Path file = TestData.raabin().resolve(e.relativePath());
                byte[] cached = data.cache().pixels(data.cache().indexOf(e.relativePath()));
                byte[] plain = ImageDecoder.decodeRgb(file, 32);
                assertThat(input.decode(file)).as(e.relativePath()).isEqualTo(cached).isEqualTo(ColourStandard.INSTANCE.finish(plain));
                assertThat(cached).isNotEqualTo(plain);
                // An upload (a decoded image) is standardised too.
                float[] fromFile = input.load(file);
                float[] fromImage = new float[input.floats()];
                input.normalize(ImageDecoder.read(file, 32), fromImage, 0);
                assertThat(fromImage).containsExactly(fromFile);
            }
            // wbc predict on the exported bundle (ONNX engine) answers as the network does on the cached pixels.
            Path bundle = tmp.resolve("bundle");
            assertThat(WbcCli.run("export", run.toString(), "--out", bundle.toString())).isZero();
            SplitManifest.Entry first = sm.test().get(0);
            Path csv = tmp.resolve("p.csv");
            assertThat(WbcCli.run("predict", bundle.toString(), TestData.raabin().resolve(first.relativePath()).toString(),
                    "--out", csv.toString())).isZero();
            String[] row = Files.readAllLines(csv).get(1).split(",");
            float[] x = new float[input.floats()];
            input.normalize(data.cache().pixels(data.cache().indexOf(first.relativePath())), x, 0);
            float[] probs = c.probabilities(x, 1, 32)[0];
            for (int k = 0; k < probs.length; k++) {
                assertThat(Double.parseDouble(row[3 + k])).isCloseTo(probs[k], within(1e-4));
            }
        }
        // A bundle that records another reference would be fed other colours than it was trained on.
        Path meta = model.resolve("metadata.json");
        Files.writeString(meta, Files.readString(meta).replace("59.24", "60.0"));
        assertThatThrownBy(() -> Classifier.load(model)).isInstanceOf(UserException.class)
                .hasMessageContaining("metadata.json: colour standardisation");
    }
}
