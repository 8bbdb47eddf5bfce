package org.wbctransfer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.config.Augmentation;

class BatchLoaderTest {

    private static final int N = 10;
    private static final int SIZE = 4;
    private static final int PER = 3 * SIZE * SIZE;

    @TempDir
    static Path tmp;

    private static ImageCache cache;
    /** Samples in reverse cache order, so that a position mixed up with a cache index shows. */
    private static List<BatchLoader.Sample> samples;
    private static Augmenter augmenter;

    @BeforeAll
    static void buildCache() throws IOException {
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            String p = "C" + (i % 3) + "/img" + i + ".png";
            TestImages.png(tmp.resolve(p), SIZE, SIZE, 100 + i);
            paths.add(p);
        }
        cache = ImageCache.build(tmp, paths, SIZE);
        samples = new ArrayList<>();
        for (int i = N - 1; i >= 0; i--) {
            samples.add(new BatchLoader.Sample(i, i % 3));
        }
        augmenter = new Augmenter(Augmentation.standard(), Normalization.imagenet(), SIZE);
    }

    private static BatchLoader loader(boolean augment, int batchSize) {
        return new BatchLoader(cache, samples, augmenter, augment, batchSize);
    }

    private static List<Batch> all(BatchLoader l, long seed, int epoch, boolean shuffle) {
        List<Batch> out = new ArrayList<>();
        Iterator<Batch> it = l.epoch(seed, epoch, shuffle);
        while (it.hasNext()) {
            out.add(it.next());
        }
        assertThatThrownBy(it::next).isInstanceOf(NoSuchElementException.class);
        return out;
    }

    private static List<Integer> order(List<Batch> batches) {
        List<Integer> out = new ArrayList<>();
        for (Batch b : batches) {
            for (int k = 0; k < b.size(); k++) {
                out.add(b.samples()[k]);
            }
        }
        return out;
    }

    @Test
    void trailingBatchOfOneIsDroppedOnlyWhenShuffling() {
        try (BatchLoader three = loader(false, 3); BatchLoader four = loader(false, 4); BatchLoader five = loader(false, 5)) {
            assertThat(three.size()).isEqualTo(N);
            assertThat(three.batchesPerEpoch(true)).isEqualTo(3);  // 3+3+3, the tenth dropped
            assertThat(three.batchesPerEpoch(false)).isEqualTo(4); // evaluation sees every image
            assertThat(four.batchesPerEpoch(true)).isEqualTo(3);   // 4+4+2 keeps the pair
            assertThat(four.batchesPerEpoch(false)).isEqualTo(3);
            assertThat(five.batchesPerEpoch(true)).isEqualTo(2);
            assertThat(five.batchesPerEpoch(false)).isEqualTo(2);

            List<Batch> shuffled = all(three, 1, 0, true);
            assertThat(shuffled).hasSize(3).allSatisfy(b -> assertThat(b.size()).isEqualTo(3));
            assertThat(order(shuffled)).doesNotHaveDuplicates().hasSize(9);

            List<Batch> sequential = all(three, 1, 0, false);
            assertThat(sequential).extracting(Batch::size).containsExactly(3, 3, 3, 1);
            assertThat(order(sequential)).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        }
    }

    @Test
    void shuffledEpochYieldsEverySampleExactlyOnce() {
        try (BatchLoader l = loader(true, 4)) {
            for (int epoch = 0; epoch < 5; epoch++) {
                List<Batch> batches = all(l, 7, epoch, true);
                assertThat(batches).extracting(Batch::size).containsExactly(4, 4, 2);
                assertThat(order(batches)).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
            }
        }
    }

    @Test
    void orderDependsOnSeedAndEpochOnly() {
        try (BatchLoader l = loader(false, 4); BatchLoader other = loader(false, 4)) {
            List<Integer> base = order(all(l, 7, 2, true));
            assertThat(order(all(other, 7, 2, true))).isEqualTo(base);
            assertThat(order(all(l, 7, 2, true))).isEqualTo(base);
            assertThat(order(all(l, 7, 3, true))).isNotEqualTo(base);
            assertThat(order(all(l, 8, 2, true))).isNotEqualTo(base);
        }
    }

    @Test
    void batchLabelsAndImagesMatchTheirSamples() {
        try (BatchLoader l = loader(false, 4)) {
            for (Batch b : all(l, 3, 1, true)) {
                assertThat(b.imageSize()).isEqualTo(SIZE);
                assertThat(b.images()).hasSize(b.size() * PER);
                assertThat(b.labels()).hasSize(b.size());
                for (int k = 0; k < b.size(); k++) {
                    BatchLoader.Sample s = samples.get(b.samples()[k]);
                    assertThat(b.labels()[k]).isEqualTo(s.label());
                    float[] expected = new float[PER];
                    augmenter.plain(cache.pixels(s.cacheIndex()), expected, 0);
                    assertThat(Arrays.copyOfRange(b.images(), k * PER, (k + 1) * PER)).isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void augmentationOfASampleDoesNotDependOnBatchComposition() {
        Map<Integer, float[]> bySample = new HashMap<>();
        try (BatchLoader l = loader(true, 4)) {
            for (Batch b : all(l, 5, 2, true)) {
                for (int k = 0; k < b.size(); k++) {
                    int pos = b.samples()[k];
                    float[] img = Arrays.copyOfRange(b.images(), k * PER, (k + 1) * PER);
                    float[] expected = new float[PER];
                    augmenter.augment(cache.pixels(samples.get(pos).cacheIndex()), Augmenter.sampleSeed(5, 2, pos), expected, 0);
                    assertThat(img).isEqualTo(expected);
                    bySample.put(pos, img);
                }
            }
        }
        try (BatchLoader l = loader(true, 5)) {
            for (Batch b : all(l, 5, 2, true)) {
                for (int k = 0; k < b.size(); k++) {
                    assertThat(Arrays.copyOfRange(b.images(), k * PER, (k + 1) * PER)).isEqualTo(bySample.get(b.samples()[k]));
                }
            }
        }
    }
}
