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
import org.wbctransfer.TestData;
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
        UnlabeledImages u = UnlabeledImages.load(root, 16, tmp.resolve("cache"), 0, 1, false, ClassificationGuard.of(null, null));
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
        UnlabeledImages a = UnlabeledImages.load(root, 8, tmp.resolve("cache"), 5, 42, false, ClassificationGuard.of(null, null));
        UnlabeledImages b = UnlabeledImages.load(root, 8, tmp.resolve("cache"), 5, 42, false, ClassificationGuard.of(null, null));
        assertThat(a.samples()).hasSize(5);
        assertThat(a.sha256()).isEqualTo(b.sha256());
        assertThat(UnlabeledImages.load(root, 8, tmp.resolve("cache"), 0, 42, false, ClassificationGuard.of(null, null)).samples()).hasSize(12);
    }

    @Test
    void aFolderWithoutImagesIsAUserError() throws IOException {
        Path root = Files.createDirectories(tmp.resolve("empty/sub"));
        Files.writeString(root.resolve("readme.md"), "x");
        assertThatThrownBy(() -> UnlabeledImages.load(tmp.resolve("empty"), 8, tmp.resolve("cache"), 0, 1, false,
                ClassificationGuard.of(null, null)))
                .isInstanceOf(UserException.class).hasMessageContaining("no image files");
    }

    @Test
    void twoViewsDifferAndAreReproducible() throws IOException {
        Path root = tmp.resolve("pairs");
        for (int i = 0; i < 5; i++) {
            image(root.resolve("img" + i + ".png"), "png", i);
        }
        UnlabeledImages u = UnlabeledImages.load(root, 16, tmp.resolve("cache"), 0, 1, false, ClassificationGuard.of(null, null));
        Augmenter aug = new Augmenter(SimSiamStage.AUGMENTATION, Normalization.compute(u.pixels()), 16);
        try (BatchLoader v = new BatchLoader(u.cache(), u.samples(), aug, true, 2)) {
            // 5 images in batches of 2: the last batch of one is dropped.
            assertThat(v.batchesPerEpoch(true)).isEqualTo(2);
            var first = v.twoViewEpoch(3, 0).next();
            var again = v.twoViewEpoch(3, 0).next();
            assertThat(first.size()).isEqualTo(2);
            assertThat(first.first().samples()).containsExactly(first.second().samples());
            assertThat(first.first().images()).isNotEqualTo(first.second().images());
            assertThat(again.first().images()).containsExactly(first.first().images());
            assertThat(again.second().images()).containsExactly(first.second().images());
        }
    }

    // --- the classification data kept out --------------------------------------------------------

    /** Copies of real Raabin images (relative to its root) into {@code dir}, flat, and returns their names there. */
    private static List<String> copyRaabin(List<String> images, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<String> names = new ArrayList<>();
        for (String rel : images) {
            Path src = TestData.raabin().resolve(rel);
            Files.copy(src, dir.resolve(src.getFileName().toString()));
            names.add(src.getFileName().toString());
        }
        return names;
    }

    /** The first n real PCam training patches, copied into {@code dir}. */
    private static List<String> copyPcam(int n, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<String> names = new ArrayList<>();
        try (var s = Files.list(PretrainTestData.pcam().resolve("train/normal"))) {
            for (Path p : s.sorted().limit(n).toList()) {
                Files.copy(p, dir.resolve(p.getFileName()));
                names.add(p.getFileName().toString());
            }
        }
        return names;
    }

    private static List<String> used(UnlabeledImages u) {
        List<String> out = new ArrayList<>();
        u.samples().forEach(s -> out.add(u.cache().path(s.cacheIndex())));
        return out;
    }

    private static List<String> raabin(int perClass, int skip) throws IOException {
        List<String> out = new ArrayList<>();
        for (String c : TestData.CLASSES) {
            out.addAll(TestData.firstImages(c, skip + perClass).subList(skip, skip + perClass));
        }
        return out;
    }

    @Test
    void aFolderHoldingCopiesOfClassificationImagesIsRefusedWithoutAManifest() throws IOException {
        Path root = tmp.resolve("ssl");
        copyRaabin(raabin(2, 0), root.resolve("cells")); // 10 copies
        copyPcam(4, root.resolve("patches"));
        ClassificationGuard guard = new ClassificationGuard(TestData.raabin(), null);

        assertThatThrownBy(() -> UnlabeledImages.load(root, 16, tmp.resolve("cache"), 0, 1, false, guard))
                .isInstanceOf(UserException.class)
                .hasMessageStartingWith(root + ": 10 of its 14 images are images of the classification data "
                        + TestData.raabin())
                .hasMessageContaining("give the split manifest")
                .hasMessageContaining("--manifest")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        // Nothing decoded: the refusal comes before the cache is written.
        assertThat(tmp.resolve("cache")).doesNotExist();
    }

    @Test
    void withTheManifestExactlyItsTestRowsAreDroppedAndTheRestKept() throws IOException {
        // The manifest: per class the first 3 Raabin images train, the next 2 are test rows.
        Path manifest = TestData.manifest(Files.createDirectories(tmp.resolve("split")), 3, 2);
        List<String> train = raabin(3, 0);
        List<String> test = raabin(2, 3);
        Path root = tmp.resolve("ssl");
        List<String> trainCopies = copyRaabin(train, root.resolve("a"));
        List<String> testCopies = copyRaabin(test, root.resolve("b/deep"));
        List<String> patches = copyPcam(3, root);

        UnlabeledImages u = UnlabeledImages.load(root, 16, tmp.resolve("cache"), 0, 1, false,
                new ClassificationGuard(TestData.raabin(), manifest));

        List<String> expected = new ArrayList<>(patches);
        trainCopies.forEach(n -> expected.add("a/" + n));
        assertThat(used(u)).containsExactlyInAnyOrderElementsOf(expected).hasSize(15 + 3);
        assertThat(u.classificationImages()).isEqualTo(25);
        assertThat(u.testImagesDropped()).isEqualTo(10);
        assertThat(used(u)).noneMatch(p -> p.startsWith("b/"));
        assertThat(testCopies).hasSize(10);
        // maxImages draws from what is left, never a test row.
        UnlabeledImages few = UnlabeledImages.load(root, 16, tmp.resolve("cache"), 6, 3, false,
                new ClassificationGuard(TestData.raabin(), manifest));
        assertThat(used(few)).hasSize(6).allMatch(expected::contains);
    }

    @Test
    void theSameFileUnderAnotherNameIsFoundByItsFileKey() throws IOException {
        // A small classification data set, and a hard link to one of its images under a new name.
        Path data = tmp.resolve("data");
        List<String> names = copyRaabin(raabin(1, 0).subList(0, 2), data.resolve("Basophil"));
        Path root = tmp.resolve("ssl");
        copyPcam(2, root);
        Files.createLink(root.resolve("renamed.jpg"), data.resolve("Basophil").resolve(names.get(0)));

        assertThatThrownBy(() -> new ClassificationGuard(data, null).apply(root))
                .isInstanceOf(UserException.class)
                .hasMessageStartingWith(root + ": 1 of its 3 images")
                .hasMessageContaining("(e.g. renamed.jpg)");
        // Without the link the folder is clean: the two images of the data are not in it.
        Files.delete(root.resolve("renamed.jpg"));
        assertThat(new ClassificationGuard(data, null).apply(root).found()).isZero();
    }

    @Test
    void aManifestThatDoesNotListTheImagesFoundIsRefused() throws IOException {
        Path manifest = TestData.manifest(Files.createDirectories(tmp.resolve("split")), 1, 1);
        Path root = tmp.resolve("ssl");
        copyRaabin(raabin(1, 5), root); // not among the manifest's first 2 per class

        assertThatThrownBy(() -> UnlabeledImages.load(root, 16, tmp.resolve("cache"), 0, 1, false,
                new ClassificationGuard(TestData.raabin(), manifest)))
                .isInstanceOf(UserException.class)
                .hasMessageStartingWith(manifest + ": does not list 5 of the 5 images of " + TestData.raabin());
    }

    @Test
    void pcamPatchesPassUntouched() throws IOException {
        Path pcam = PretrainTestData.pcam().resolve("train");
        // The default guard: the project's Raabin root, which the test run sees beside the project.
        assertThat(ClassificationGuard.of(null, null).data()).isDirectory();
        UnlabeledImages guarded = UnlabeledImages.load(pcam, 16, tmp.resolve("cache"), 12, 7, false, ClassificationGuard.of(null, null));
        UnlabeledImages unchecked = UnlabeledImages.load(pcam, 16, tmp.resolve("cache"), 12, 7, false,
                new ClassificationGuard(tmp.resolve("no-such-data"), null));

        assertThat(guarded.classificationImages()).isZero();
        assertThat(guarded.testImagesDropped()).isZero();
        assertThat(guarded.samples()).hasSize(12);
        assertThat(used(guarded)).containsExactlyElementsOf(used(unchecked));
    }
}
