package org.wbctransfer.explain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;
import org.wbctransfer.TinyModel;
import org.wbctransfer.config.Augmentation;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.ImageDecoder;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ResNet18;

/** Grad-CAM on a tiny trained model and real Raabin images. */
class GradCamTest {

    @TempDir
    static Path tmp;

    static Classifier model;
    static float[] image;

    @BeforeAll
    static void train() throws Exception {
        Path run = TinyModel.train(tmp);
        model = Classifier.load(run.resolve("model"));
        int size = model.metadata().imageSize();
        // An image the model did not train on (the 12th Lymphocyte).
        Path file = TestData.raabin().resolve(TestData.firstImages("Lymphocyte", 12).get(11));
        image = new float[3 * size * size];
        new Augmenter(Augmentation.none(), model.metadata().normalization(), size)
                .plain(ImageDecoder.decodeRgb(file, size), image, 0);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    @Test
    void camIsInUnitRangeOnTheLayer4GridAndScoresMatchTheClassifier() {
        GradCam.Result r = GradCam.compute(model, image, -1);
        assertThat(r.height()).isEqualTo(2); // 64 px / stride 32
        assertThat(r.width()).isEqualTo(2);
        assertThat(r.channels()).isEqualTo(512);
        assertThat(r.cam()).hasSize(4);
        for (float v : r.cam()) {
            assertThat(v).isBetween(0f, 1f);
        }
        float max = 0;
        for (float v : r.cam()) {
            max = Math.max(max, v);
        }
        assertThat(max).isIn(0f, 1f);

        float[] p = model.probabilities(image, 1, 64)[0];
        assertThat(r.probabilities()).hasSize(5);
        for (int k = 0; k < 5; k++) {
            assertThat(r.probabilities()[k]).isCloseTo(p[k], within(1e-5f));
        }
        int argMax = 0;
        for (int k = 1; k < 5; k++) {
            if (p[k] > p[argMax]) {
                argMax = k;
            }
        }
        assertThat(r.targetClass()).isEqualTo(argMax);

        float[] up = r.upsampled(256);
        assertThat(up).hasSize(256 * 256);
        for (float v : up) {
            assertThat(v).isBetween(0f, 1f);
        }
    }

    @Test
    void autogradGradientEqualsTheClosedFormOfThePooledLinearHead() {
        // logit_c = sum_k W[c,k] * mean_ij A_k(i,j) + b_c, so d logit_c / d A_k(i,j) = W[c,k] / (H*W).
        float[] w = ResNet18.headOf(model.block()).getParameters().get("weight").getArray().toFloatArray();
        for (int c = 0; c < 5; c++) {
            GradCam.Result r = GradCam.compute(model, image, c);
            assertThat(r.targetClass()).isEqualTo(c);
            int plane = r.height() * r.width();
            float[] cam = new float[plane];
            for (int k = 0; k < r.channels(); k++) {
                float expected = w[c * r.channels() + k] / plane;
                for (int i = 0; i < plane; i++) {
                    assertThat(r.gradients()[k * plane + i]).as("class %d channel %d cell %d", c, k, i)
                            .isCloseTo(expected, within(1e-6f));
                    cam[i] += expected * r.activations()[k * plane + i];
                }
            }
            GradCam.normalize(cam);
            for (int i = 0; i < plane; i++) {
                assertThat(r.cam()[i]).isCloseTo(cam[i], within(1e-4f));
            }
        }
    }

    @Test
    void upsamplingKeepsCellValuesAtCellCentresAndStaysWithinRange() {
        float[] map = {0f, 1f, 0.5f, 0.25f};
        float[] up = GradCam.upsample(map, 2, 2, 8);
        // Cell centres of a 2x2 grid over 8 px sit between pixels 1 and 2; pixel 0 is held flat.
        assertThat(up[0]).isEqualTo(0f);
        assertThat(up[7]).isEqualTo(1f);
        assertThat(up[7 * 8]).isEqualTo(0.5f);
        assertThat(up[63]).isEqualTo(0.25f);
        for (float v : up) {
            assertThat(v).isBetween(0f, 1f);
        }
        float[] flat = GradCam.upsample(new float[] {0.7f}, 1, 1, 5);
        for (float v : flat) {
            assertThat(v).isEqualTo(0.7f);
        }
    }

    @Test
    void jetRunsFromBlueToRed() {
        int cold = Overlay.jet(0f);
        int hot = Overlay.jet(1f);
        assertThat(cold & 0xff).isGreaterThan((cold >> 16) & 0xff);
        assertThat((hot >> 16) & 0xff).isGreaterThan(hot & 0xff);
    }
}
