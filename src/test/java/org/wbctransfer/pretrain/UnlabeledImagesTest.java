package org.wbctransfer.pretrain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.data.Augmentation;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.Normalization;
import org.wbctransfer.util.UserException;

class UnlabeledImagesTest {

    @TempDir
    Path tmp;

    private static void image(Path file, String format, long seed) throws IOException {
        Files.createDirectories(file.getParent());
        BufferedImage img = new BufferedImage(20, 20, BufferedImage.TYPE_INT_RGB);
        Random r = new Random(seed);
        for (int y = 0; y < 20; y++) {
            for (int x = 0; x < 20; x++) {
                img.setRGB(x, y, r.nextInt() & 0xffffff);
            }
        }
        if (!ImageIO.write(img, format, file.toFile())) {
            throw new IllegalStateException("no writer for " + format);
        }
    }

    @Test
    void walksNestedFoldersSkipsHiddenAndCorruptFiles() throws IOException {
        Path root = tmp.resolve("slides");
        image(root.resolve("a.png"), "png", 1);
        image(root.resolve("case1/b.jpg"), "jpg", 2);
        image(root.resolve("case1/region/deep/c.JPG"), "jpg", 3);
        image(root.resolve(".hidden.jpg"), "jpg", 4);
        image(root.resolve(".thumbs/d.jpg"), "jpg", 5);
        image(root.resolve("case2/.e.png"), "png", 6);
        Files.writeString(root.resolve("case1/notes.txt"), "not an image");
        Files.write(root.resolve("case2/broken.jpg"), "this is not a JPEG".getBytes());

        assertThat(UnlabeledImages.scan(root))
                .containsExactly("a.png", "case1/b.jpg", "case1/region/deep/c.JPG", "case2/broken.jpg");
        UnlabeledImages u = UnlabeledImages.load(root, 16, tmp.resolve("cache"), 0, 1);
        List<String> used = new ArrayList<>();
        u.samples().forEach(s -> used.add(u.cache().path(s.cacheIndex())));
        assertThat(used).containsExactly("a.png", "case1/b.jpg", "case1/region/deep/c.JPG");
        assertThat(u.samples()).allSatisfy(s -> assertThat(s.label()).isZero());
        assertThat(u.pixels()).hasSize(3).allSatisfy(p -> assertThat(p).hasSize(16 * 16 * 3));
        assertThat(u.cache().problem(u.cache().indexOf("case2/broken.jpg"))).isNotNull();
        assertThat(u.sha256()).hasSize(64);
    }

    @Test
    void maxImagesTakesASeededSubset() throws IOException {
        Path root = tmp.resolve("many");
        for (int i = 0; i < 12; i++) {
            image(root.resolve("d" + (i % 3) + "/img" + i + ".png"), "png", i);
        }
        UnlabeledImages a = UnlabeledImages.load(root, 8, tmp.resolve("cache"), 5, 42);
        UnlabeledImages b = UnlabeledImages.load(root, 8, tmp.resolve("cache"), 5, 42);
        assertThat(a.samples()).hasSize(5);
        assertThat(a.sha256()).isEqualTo(b.sha256());
        assertThat(UnlabeledImages.load(root, 8, tmp.resolve("cache"), 0, 42).samples()).hasSize(12);
    }

    @Test
    void aFolderWithoutImagesIsAUserError() throws IOException {
        Path root = Files.createDirectories(tmp.resolve("empty/sub"));
        Files.writeString(root.resolve("readme.md"), "x");
        assertThatThrownBy(() -> UnlabeledImages.load(tmp.resolve("empty"), 8, tmp.resolve("cache"), 0, 1))
                .isInstanceOf(UserException.class).hasMessageContaining("no image files");
    }

    @Test
    void twoViewsDifferAndAreReproducible() throws IOException {
        Path root = tmp.resolve("pairs");
        for (int i = 0; i < 5; i++) {
            image(root.resolve("img" + i + ".png"), "png", i);
        }
        UnlabeledImages u = UnlabeledImages.load(root, 16, tmp.resolve("cache"), 0, 1);
        Augmenter aug = new Augmenter(SimSiamStage.AUGMENTATION, Normalization.compute(u.pixels()), 16);
        try (TwoViewBatches v = new TwoViewBatches(u.cache(), u.samples(), aug, 2)) {
            // 5 images in batches of 2: the last batch of one is dropped.
            assertThat(v.batchesPerEpoch()).isEqualTo(2);
            var first = v.epoch(3, 0).next();
            var again = v.epoch(3, 0).next();
            assertThat(first.size()).isEqualTo(2);
            assertThat(first.first().samples()).containsExactly(first.second().samples());
            assertThat(first.first().images()).isNotEqualTo(first.second().images());
            assertThat(again.first().images()).containsExactly(first.first().images());
            assertThat(again.second().images()).containsExactly(first.second().images());
        }
    }
}
