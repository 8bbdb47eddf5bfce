package org.wbctransfer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.wbctransfer.BadInputCorpus;
import org.wbctransfer.BadInputCorpus.Kind;
import org.wbctransfer.util.UserException;

/** The decoder, the folder scan and the split draw on the generated bad-input corpus. */
class BadInputTest {

    @TempDir
    Path tmp;

    private static String problem(Path f) {
        try {
            ImageDecoder.decodeRgb(f, 8);
            return null;
        } catch (ImageDecoder.BadImageException e) {
            return e.getMessage();
        }
    }

    private static int[] px(byte[] rgb, int size, int x, int y) {
        int i = 3 * (y * size + x);
        return new int[] {rgb[i] & 0xff, rgb[i + 1] & 0xff, rgb[i + 2] & 0xff};
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"ALPHA_PNG", "GRAY_PNG", "GRAY16_PNG", "RGB16_PNG", "CMYK_JPEG", "NON_ASCII_NAME"})
    void unusualButValidImagesLoadAsRgb(Kind kind) throws Exception {
        assumeTrue(kind != Kind.NON_ASCII_NAME || BadInputCorpus.nonAsciiNamesWork(tmp), "file names are ASCII-only here");
        int s = BadInputCorpus.SIDE;
        byte[] rgb = ImageDecoder.decodeRgb(kind.write(tmp), s);
        assertThat(rgb).hasSize(s * s * 3);
        switch (kind) {
            case ALPHA_PNG -> {
                assertThat(px(rgb, s, 2, 5)).as("transparent -> white").containsExactly(255, 255, 255);
                assertThat(px(rgb, s, s - 3, 5)).containsExactly(0x10, 0x20, 0x80);
            }
            case GRAY_PNG, GRAY16_PNG -> {
                for (int x = 0; x < s; x++) {
                    int[] p = px(rgb, s, x, 7);
                    assertThat(p[0]).as("x=%d", x).isEqualTo(p[1]).isEqualTo(p[2]).isCloseTo(x * 255 / (s - 1),
                            org.assertj.core.data.Offset.offset(1));
                }
            }
            case RGB16_PNG -> assertThat(px(rgb, s, 5, 5)).containsExactly(0, 255, 0);
            case CMYK_JPEG -> {
                // Inverted CMYK (0, 255, 255, 0) is red and (255, 255, 0, 0) blue; JPEG blurs the seam.
                int[] red = px(rgb, s, 3, 12);
                int[] blue = px(rgb, s, s - 4, 12);
                assertThat(red[0]).isGreaterThan(200);
                assertThat(red[1]).isLessThan(60);
                assertThat(red[2]).isLessThan(60);
                assertThat(blue[2]).isGreaterThan(200);
                assertThat(blue[0]).isLessThan(60);
                assertThat(blue[1]).isLessThan(60);
            }
            default -> { }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"EMPTY", "TRUNCATED_JPEG", "RANDOM_BYTES", "BOMB_PNG", "UNSUPPORTED_JPEG", "NON_IMAGE"})
    void invalidFilesAreRefusedWithAOneLineReason(Kind kind) {
        Path f = kind.write(tmp);
        assertThatThrownBy(() -> ImageDecoder.decodeRgb(f, 32))
                .isInstanceOf(ImageDecoder.BadImageException.class)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n").isNotBlank())
                .hasMessageContaining(kind == Kind.NON_IMAGE ? "not a recognised image format" : kind.problem);
    }

    @Test
    void scanUsesValidImagesSkipsTheRestAndIgnoresHiddenFilesAndLinks() {
        assumeTrue(BadInputCorpus.nonAsciiNamesWork(tmp));
        BadInputCorpus.Dataset d = BadInputCorpus.dataset(tmp.resolve("data"), List.of("Lymphocyte", "Neutrophil"), 3);

        ImageFolder f = ImageFolder.scan(d.root());

        assertThat(f.classNames()).containsExactly("Lymphocyte", "Neutrophil");
        // The scan judges names only; decoding sorts out the undecodable images later.
        List<String> expected = new ArrayList<>();
        d.valid().forEach(p -> expected.add(d.root().relativize(p).toString()));
        d.invalid().stream().filter(p -> !p.getFileName().toString().equals("README.txt"))
                .forEach(p -> expected.add(d.root().relativize(p).toString()));
        assertThat(f.items()).extracting(ImageFolder.Item::relativePath).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(f.skipped()).extracting(Object::toString).containsExactly("Lymphocyte/README.txt: not an image file extension");
        assertThat(f.warnings()).hasSize(2);
        assertThat(f.warnings()).anySatisfy(w -> assertThat(w).contains(d.root().resolve("Lymphocyte/README.txt").toString()));
        assertThat(f.warnings()).anySatisfy(w -> assertThat(w).contains(d.root().resolve("Empty").toString()).contains("no images"));

        // Strict: the first problem in name order ("Empty" < "Lymphocyte") stops the scan.
        assertThatThrownBy(() -> ImageFolder.scan(d.root(), true))
                .isInstanceOf(UserException.class)
                .hasMessage(d.root().resolve("Empty") + ": class folder holds no images");
        BadInputCorpus.goodImage(d.root().resolve("Empty"), "now-full", 1, 2);
        assertThatThrownBy(() -> ImageFolder.scan(d.root(), true))
                .isInstanceOf(UserException.class)
                .hasMessage(d.root().resolve("Lymphocyte/README.txt") + ": not an image file extension");
    }

    @Test
    void strictScanRefusesAnEmptyClassFolderAndABrokenLink() throws Exception {
        Path root = tmp.resolve("data");
        BadInputCorpus.goodImage(root.resolve("A"), "a", 1, 0);
        BadInputCorpus.emptyClass(root, "B");
        assertThatThrownBy(() -> ImageFolder.scan(root, true))
                .isInstanceOf(UserException.class)
                .hasMessage(root.resolve("B") + ": class folder holds no images");

        Files.delete(root.resolve("B"));
        Path dangling = Files.createSymbolicLink(root.resolve("A/gone.jpg"), root.resolve("nowhere.jpg"));
        assertThat(ImageFolder.scan(root).skipped()).extracting(Object::toString).containsExactly("A/gone.jpg: broken symbolic link");
        assertThatThrownBy(() -> ImageFolder.scan(root, true)).hasMessage(dangling + ": broken symbolic link");
    }

    @Test
    void classFoldersDifferingOnlyInCaseAndMissingFoldersAreErrorsEvenWhenLenient() {
        Path root = tmp.resolve("data");
        BadInputCorpus.goodImage(root.resolve("Lymphocyte"), "a", 1, 0);
        BadInputCorpus.goodImage(root.resolve("lymphocyte"), "b", 2, 0);
        assertThatThrownBy(() -> ImageFolder.scan(root)).isInstanceOf(UserException.class).hasMessageContaining("differ only in case");
        assertThatThrownBy(() -> ImageFolder.scan(tmp.resolve("missing"))).isInstanceOf(UserException.class)
                .hasMessageContaining(tmp.resolve("missing") + ": folder not found");
    }

    @Test
    void unreadableClassFolderIsAnErrorNamingIt() throws Exception {
        Path root = tmp.resolve("data");
        BadInputCorpus.goodImage(root.resolve("A"), "a", 1, 0);
        Path locked = root.resolve("B");
        BadInputCorpus.goodImage(locked, "b", 2, 1);
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("---------"));
        try {
            // root (e.g. in a container) reads it anyway; only then is there nothing to test.
            assumeFalse(Files.isReadable(locked) && Files.list(locked).findAny().isPresent(), "running as root: chmod 000 does not block reading");
            assertThatThrownBy(() -> ImageFolder.scan(root)).isInstanceOf(UserException.class)
                    .hasMessageContaining(locked + ": cannot list folder");
            List<String> problems = new ArrayList<>();
            List<Path> found = ImageFolder.findImages(root, (p, why) -> problems.add(p + ": " + why));
            assertThat(found).extracting(p -> p.getFileName().toString()).containsExactly("a.jpg");
            assertThat(problems).singleElement().asString().contains(locked.toString());
        } finally {
            Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rwx------"));
        }
    }

    @Test
    void recursiveWalkSurvivesALinkLoop() throws Exception {
        Path root = tmp.resolve("data");
        BadInputCorpus.goodImage(root.resolve("a/b"), "deep", 1, 0);
        BadInputCorpus.loop(root.resolve("a/b"));
        BadInputCorpus.loop(root);
        BadInputCorpus.hidden(root.resolve("a"));
        List<String> problems = new ArrayList<>();
        List<Path> found = ImageFolder.findImages(root, (p, why) -> problems.add(p + ": " + why));
        assertThat(found).containsExactly(root.resolve("a/b/deep.jpg"));
        assertThat(problems).isEmpty();
    }

    @Test
    void splitDrawLeavesUndecodableFilesOutAndRecordsThemInTheManifest() throws Exception {
        assumeTrue(BadInputCorpus.nonAsciiNamesWork(tmp));
        BadInputCorpus.Dataset d = BadInputCorpus.dataset(tmp.resolve("data"), List.of("Lymphocyte", "Neutrophil"), 6);
        List<String> warnings = new ArrayList<>();

        SplitManifest m = SplitData.draw(d.root(), 5, null, 32, tmp.resolve("cache"), false, warnings::add);

        assertThat(m.entries()).extracting(SplitManifest.Entry::relativePath)
                .containsExactlyInAnyOrderElementsOf(d.valid().stream().map(p -> d.root().relativize(p).toString()).toList());
        assertThat(m.skipped()).hasSize(d.invalid().size());
        for (Kind k : Kind.invalidKinds()) {
            assertThat(m.skipped()).anySatisfy(s -> assertThat(s).startsWith("Lymphocyte/" + k.fileName + ": ").contains(k.problem));
            assertThat(warnings).anySatisfy(w -> assertThat(w)
                    .startsWith(d.root().resolve("Lymphocyte").resolve(k.fileName) + ": ").contains(k.problem));
        }
        assertThat(warnings).allSatisfy(w -> assertThat(w).doesNotContain("\n"));
        // The record survives the round trip through the CSV, and the hash with it.
        Path file = tmp.resolve("split.csv");
        m.write(file);
        String csv = Files.readString(file);
        assertThat(csv).contains("# " + d.invalid().size() + " file(s) of the dataset skipped");
        SplitManifest read = SplitManifest.read(file);
        assertThat(read.skipped()).isEqualTo(m.skipped());
        assertThat(read.seed()).isEqualTo(5);
        assertThat(read.sha256()).isEqualTo(m.sha256());
        assertThat(read.entries()).isEqualTo(m.entries());

        Files.delete(d.root().resolve("Empty"));
        Files.delete(d.root().resolve("Lymphocyte/README.txt"));
        // Strict: the first undecodable image in path order.
        assertThatThrownBy(() -> SplitData.draw(d.root(), 5, null, 32, tmp.resolve("cache"), true, w -> { }))
                .isInstanceOf(UserException.class)
                .hasMessage(d.root().resolve("Lymphocyte/adobe-transform-1.jpg") + ": " + problem(
                        d.root().resolve("Lymphocyte/adobe-transform-1.jpg")));
    }

    @Test
    void aCleanDatasetKeepsItsManifestFormat() throws Exception {
        Path root = tmp.resolve("clean");
        for (int i = 0; i < 6; i++) {
            BadInputCorpus.goodImage(root.resolve("A"), "a" + i, i, 0);
            BadInputCorpus.goodImage(root.resolve("B"), "b" + i, 10 + i, 1);
        }
        SplitManifest drawn = SplitData.draw(root, 3, null, 32, tmp.resolve("cache"), true, w -> { });
        SplitManifest named = SplitManifest.create(ImageFolder.scan(root), 3);
        assertThat(drawn.toCsv()).isEqualTo(named.toCsv()).doesNotContain("skipped");
    }
}
