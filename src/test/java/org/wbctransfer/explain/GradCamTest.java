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
        GradCam.Result r = GradCam.compute(model, image, -1, GradCam.Layer.LAYER4);
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
            GradCam.Result r = GradCam.compute(model, image, c, GradCam.Layer.LAYER4);
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
    void theDefaultLayerHasTheStatedResolutionAndTheClassifiersScores() {
        GradCam.Result r = GradCam.compute(model, image, -1);
        assertThat(r.layer()).isEqualTo(GradCam.DEFAULT);
        assertThat(GradCam.DEFAULT).isEqualTo(GradCam.Layer.LAYER2);
        assertThat(r.resolution()).isEqualTo("layer2, 8x8 map at 64 px, upsampled");
        assertThat(r.height()).isEqualTo(8); // 64 px / stride 8
        assertThat(r.width()).isEqualTo(8);
        assertThat(r.channels()).isEqualTo(128);
        assertThat(r.cam()).hasSize(64);
        assertThat(r.gradients()).hasSize(128 * 64);
        float[] p = model.probabilities(image, 1, 64)[0];
        for (int k = 0; k < 5; k++) {
            assertThat(r.probabilities()[k]).isCloseTo(p[k], within(1e-5f));
        }
        assertThat(r.targetClass()).isEqualTo(org.wbctransfer.model.Classifier.argMax(p));
        float max = 0;
        for (float v : r.cam()) {
            assertThat(v).isBetween(0f, 1f);
            max = Math.max(max, v);
        }
        assertThat(max).isIn(0f, 1f);
    }

    @Test
    void everyLayerChoiceStatesItsGridAndCombinationsCombineTheUpsampledStageMaps() {
        int[][] grids = {{8, 128}, {4, 256}, {2, 512}};
        GradCam.Layer[] singles = {GradCam.Layer.LAYER2, GradCam.Layer.LAYER3, GradCam.Layer.LAYER4};
        GradCam.Result[] parts = new GradCam.Result[3];
        float[] p = model.probabilities(image, 1, 64)[0];
        for (int i = 0; i < 3; i++) {
            GradCam.Result r = GradCam.compute(model, image, 2, singles[i]);
            parts[i] = r;
            assertThat(r.height()).isEqualTo(grids[i][0]);
            assertThat(r.width()).isEqualTo(grids[i][0]);
            assertThat(r.channels()).isEqualTo(grids[i][1]);
            assertThat(r.cam()).hasSize(grids[i][0] * grids[i][0]);
            assertThat(r.targetClass()).isEqualTo(2);
            assertThat(GradCam.Layer.side(i + 2, 64)).isEqualTo(grids[i][0]);
            for (int k = 0; k < 5; k++) {
                assertThat(r.probabilities()[k]).isCloseTo(p[k], within(1e-5f));
            }
        }
        assertThat(GradCam.Layer.LAYER2.resolution(64)).isEqualTo("layer2, 8x8 map at 64 px, upsampled");
        assertThat(GradCam.Layer.LAYER4.resolution(224)).isEqualTo("layer4, 7x7 map at 224 px, upsampled");
        assertThat(GradCam.Layer.PRODUCT34.resolution(64))
                .isEqualTo("product of layer3 and layer4, 4x4 and 2x2 maps at 64 px, upsampled");

        float[] up3 = parts[1].upsampled(64);
        float[] up4 = parts[2].upsampled(64);
        GradCam.Result product = GradCam.compute(model, image, 2, GradCam.Layer.PRODUCT34);
        GradCam.Result mean = GradCam.compute(model, image, 2, GradCam.Layer.MEAN34);
        assertThat(product.height()).isEqualTo(64);
        assertThat(product.parts()).hasSize(2);
        assertThat(product.activations()).isNull();
        float[] prod = new float[64 * 64];
        float[] sum = new float[64 * 64];
        float pmax = 0;
        float smax = 0;
        for (int i = 0; i < prod.length; i++) {
            prod[i] = up3[i] * up4[i];
            sum[i] = up3[i] + up4[i];
            pmax = Math.max(pmax, prod[i]);
            smax = Math.max(smax, sum[i]);
        }
        for (int i = 0; i < prod.length; i++) {
            assertThat(product.cam()[i]).isCloseTo(pmax > 0 ? prod[i] / pmax : 0, within(1e-5f));
            assertThat(mean.cam()[i]).isCloseTo(smax > 0 ? sum[i] / smax : 0, within(1e-5f));
        }
        assertThat(product.upsampled(64)).containsExactly(product.cam());
        assertThat(product.upsampled(256)).hasSize(256 * 256);
        assertThat(GradCam.Layer.parse("Product34")).isEqualTo(GradCam.Layer.PRODUCT34);
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
