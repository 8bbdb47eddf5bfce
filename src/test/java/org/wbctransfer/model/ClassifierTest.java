package org.wbctransfer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Model;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.SequentialBlock;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.wbctransfer.data.Normalization;

class ClassifierTest {

    private static final int SIZE = 32;

    /** Rotates each channel of an NCHW image by 90 degrees (counter-clockwise), independently of DJL. */
    private static float[] rot90(float[] img) {
        float[] out = new float[img.length];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < SIZE; y++) {
                for (int x = 0; x < SIZE; x++) {
                    out[c * SIZE * SIZE + (SIZE - 1 - x) * SIZE + y] = img[c * SIZE * SIZE + y * SIZE + x];
                }
            }
        }
        return out;
    }

    private static float[] mirror(float[] img) {
        float[] out = new float[img.length];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < SIZE; y++) {
                for (int x = 0; x < SIZE; x++) {
                    out[c * SIZE * SIZE + y * SIZE + (SIZE - 1 - x)] = img[c * SIZE * SIZE + y * SIZE + x];
                }
            }
        }
        return out;
    }

    @Test
    void dihedralAveragingIsInvariantToTheViewsItAverages() {
        SequentialBlock block = ResNet18.classifier(5);
        Model model = Model.newInstance("tta-test");
        model.setBlock(block);
        block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, SIZE, SIZE));
        WeightInit.apply(block, 7);
        ModelMetadata md = new ModelMetadata(ModelMetadata.FORMAT, "resnet18", List.of("a", "b", "c", "d", "e"),
                List.of(3, SIZE, SIZE), Normalization.imagenet(), null, null, Map.of(), ModelMetadata.INTENDED_USE, null);
        float[] img = new float[3 * SIZE * SIZE];
        Random rnd = new Random(3);
        for (int i = 0; i < img.length; i++) {
            img[i] = (float) rnd.nextGaussian();
        }
        try (Classifier c = Classifier.of(model, block, md)) {
            float[] plain = c.probabilities(img, 1, SIZE, false)[0];
            float[] plainRotated = c.probabilities(rot90(img), 1, SIZE, false)[0];
            float[] tta = c.probabilities(img, 1, SIZE, true)[0];
            float[] ttaRotated = c.probabilities(rot90(img), 1, SIZE, true)[0];
            float[] ttaMirrored = c.probabilities(mirror(img), 1, SIZE, true)[0];
            // A random network is not rotation invariant, so the check below is not vacuous.
            float diff = 0;
            for (int k = 0; k < 5; k++) {
                diff = Math.max(diff, Math.abs(plain[k] - plainRotated[k]));
            }
            assertThat(diff).isGreaterThan(1e-4f);
            float sum = 0;
            for (int k = 0; k < 5; k++) {
                assertThat(ttaRotated[k]).isCloseTo(tta[k], within(1e-5f));
                assertThat(ttaMirrored[k]).isCloseTo(tta[k], within(1e-5f));
                sum += tta[k];
            }
            assertThat(sum).isCloseTo(1f, within(1e-5f));
        }
    }

    @Test
    void readersTakeSizeMeanAndStdFromThePreprocessingBlockAndFallBackForOldBundles() throws Exception {
        String fields = "\"classes\": [\"a\", \"b\"], \"inputShape\": [3, 64, 64],"
                + " \"normalization\": {\"mean\": [0.5, 0.5, 0.5], \"std\": [0.25, 0.25, 0.25]}";
        ModelMetadata block = org.wbctransfer.util.Json.MAPPER.readValue("{" + fields + ", \"preprocessing\": {\"size\": 96,"
                + " \"mean\": [0.1, 0.2, 0.3], \"std\": [0.4, 0.5, 0.6], \"channelOrder\": \"RGB\"}}", ModelMetadata.class);
        assertThat(block.imageSize()).isEqualTo(96);
        assertThat(block.inputNormalization().mean()).containsExactly(0.1, 0.2, 0.3);
        assertThat(block.inputNormalization().std()).containsExactly(0.4, 0.5, 0.6);
        assertThat(new ModelInput(block, null).size()).isEqualTo(96);

        ModelMetadata sentence = org.wbctransfer.util.Json.MAPPER.readValue("{" + fields
                + ", \"preprocessing\": \"Decode to RGB; centre-crop to a square\"}", ModelMetadata.class);
        assertThat(sentence.preprocessing().description()).startsWith("Decode to RGB");
        assertThat(sentence.imageSize()).isEqualTo(64);
        assertThat(sentence.inputNormalization().mean()).containsExactly(0.5, 0.5, 0.5);
        ModelMetadata none = org.wbctransfer.util.Json.MAPPER.readValue("{" + fields + "}", ModelMetadata.class);
        assertThat(none.imageSize()).isEqualTo(64);
        assertThat(none.inputNormalization().std()).containsExactly(0.25, 0.25, 0.25);
    }
}
