package org.wbctransfer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageCacheTest {

    private static final int SIZE = 8;
    private static final List<String> PATHS = List.of("A/a.png", "A/b.jpg", "B/bad.jpg", "B/c.png");

    @TempDir
    Path tmp;

    Path root;
    Path cacheDir;

    @BeforeEach
    void makeDataset() throws IOException {
        root = tmp.resolve("data");
        cacheDir = tmp.resolve("not/yet/there/cache");
        TestImages.png(root.resolve("A/a.png"), 16, 16, 1);
        TestImages.jpeg(root.resolve("A/b.jpg"), 20, 12, 2);
        Files.createDirectories(root.resolve("B"));
        Files.writeString(root.resolve("B/bad.jpg"), "this is not a JPEG");
        TestImages.png(root.resolve("B/c.png"), 8, 8, 3);
    }

    private List<Path> cacheFiles() throws IOException {
        try (Stream<Path> s = Files.list(cacheDir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".bin")).sorted().toList();
        }
    }

    @Test
    void buildsIntoAMissingDirectoryAndReopensIdentically() throws Exception {
        assertThat(cacheDir).doesNotExist();

        ImageCache built = ImageCache.open(root, PATHS, SIZE, cacheDir);

        assertThat(built.fromDisk()).isFalse();
        assertThat(cacheDir).isDirectory();
        assertThat(cacheFiles()).hasSize(1);
        assertThat(cacheFiles().get(0).getFileName().toString()).startsWith("images-" + SIZE + "px-");
        assertThat(built.count()).isEqualTo(4);
        assertThat(built.size()).isEqualTo(SIZE);
        for (int i = 0; i < PATHS.size(); i++) {
            assertThat(built.path(i)).isEqualTo(PATHS.get(i));
            assertThat(built.indexOf(PATHS.get(i))).isEqualTo(i);
        }

        ImageCache reopened = ImageCache.open(root, PATHS, SIZE, cacheDir);

        assertThat(reopened.fromDisk()).isTrue();
        assertThat(reopened.count()).isEqualTo(4);
        for (int i = 0; i < PATHS.size(); i++) {
            assertThat(reopened.pixels(i)).isEqualTo(built.pixels(i));
            assertThat(reopened.problem(i)).isEqualTo(built.problem(i));
        }
        assertThat(cacheFiles()).hasSize(1);
    }

    @Test
    void pixelsAreTheDecodedImagesAndABadImageIsRecorded() throws Exception {
        ImageCache c = ImageCache.open(root, PATHS, SIZE, cacheDir);

        int bad = c.indexOf("B/bad.jpg");
        assertThat(c.pixels(bad)).isNull();
        assertThat(c.problem(bad)).isNotBlank().contains("not a recognised image format");

        for (String p : List.of("A/a.png", "A/b.jpg", "B/c.png")) {
            int i = c.indexOf(p);
            assertThat(c.problem(i)).as(p).isNull();
            assertThat(c.pixels(i)).as(p).hasSize(SIZE * SIZE * 3)
                    .isEqualTo(ImageDecoder.decodeRgb(root.resolve(p), SIZE));
        }
        assertThatThrownBy(() -> c.indexOf("A/zzz.png")).isInstanceOf(IllegalArgumentException.class);

        // The problem survives the round trip through the cache file.
        ImageCache reopened = ImageCache.open(root, PATHS, SIZE, cacheDir);
        assertThat(reopened.fromDisk()).isTrue();
        assertThat(reopened.pixels(bad)).isNull();
        assertThat(reopened.problem(bad)).isEqualTo(c.problem(bad));
    }

    @Test
    void changingOneImageGivesANewCache() throws Exception {
        ImageCache first = ImageCache.open(root, PATHS, SIZE, cacheDir);
        Path a = root.resolve("A/a.png");
        FileTime before = Files.getLastModifiedTime(a);
        TestImages.png(a, 16, 16, 99);
        Files.setLastModifiedTime(a, FileTime.fromMillis(before.toMillis() + 10_000));

        ImageCache second = ImageCache.open(root, PATHS, SIZE, cacheDir);

        assertThat(second.fromDisk()).isFalse();
        int ia = second.indexOf("A/a.png");
        assertThat(second.pixels(ia)).isNotEqualTo(first.pixels(ia))
                .isEqualTo(ImageDecoder.decodeRgb(a, SIZE));
        int ic = second.indexOf("B/c.png");
        assertThat(second.pixels(ic)).isEqualTo(first.pixels(ic));
        assertThat(cacheFiles()).hasSize(2);

        assertThat(ImageCache.open(root, PATHS, SIZE, cacheDir).fromDisk()).isTrue();
    }

    @Test
    void touchingAFileAloneInvalidatesTheCache() throws Exception {
        ImageCache.open(root, PATHS, SIZE, cacheDir);
        Path c = root.resolve("B/c.png");
        Files.setLastModifiedTime(c, FileTime.fromMillis(Files.getLastModifiedTime(c).toMillis() + 5_000));

        assertThat(ImageCache.open(root, PATHS, SIZE, cacheDir).fromDisk()).isFalse();
    }

    @Test
    void otherSizeOrImageListIsAnotherCache() throws Exception {
        ImageCache.open(root, PATHS, SIZE, cacheDir);
        assertThat(ImageCache.open(root, PATHS, 4, cacheDir).fromDisk()).isFalse();
        assertThat(ImageCache.open(root, PATHS.subList(0, 2), SIZE, cacheDir).fromDisk()).isFalse();
        assertThat(ImageCache.open(root, PATHS, SIZE, cacheDir).fromDisk()).isTrue();
    }

    @Test
    void sharedOpensReuseTheCacheHeldUntilAnImageChanges() throws Exception {
        ImageCache first = ImageCache.openShared(root, PATHS, SIZE, null, cacheDir);
        assertThat(ImageCache.openShared(root, PATHS, SIZE, null, cacheDir)).isSameAs(first);
        assertThat(ImageCache.openShared(root, PATHS, 4, null, cacheDir)).isNotSameAs(first);
        ImageCache again = ImageCache.openShared(root, PATHS, SIZE, null, cacheDir);
        assertThat(again).as("one cache is held; the 4 px one replaced it").isNotSameAs(first);
        assertThat(again.fromDisk()).isTrue();
        assertThat(again.pixels(0)).isEqualTo(first.pixels(0));

        Path c = root.resolve("B/c.png");
        Files.setLastModifiedTime(c, FileTime.fromMillis(Files.getLastModifiedTime(c).toMillis() + 5_000));
        ImageCache rebuilt = ImageCache.openShared(root, PATHS, SIZE, null, cacheDir);
        assertThat(rebuilt).isNotSameAs(again);
        assertThat(rebuilt.fromDisk()).isFalse();
    }

    @Test
    void unreadableCacheFileIsRebuilt() throws Exception {
        ImageCache built = ImageCache.open(root, PATHS, SIZE, cacheDir);
        Path file = cacheFiles().get(0);
        Files.writeString(file, "garbage");

        ImageCache rebuilt = ImageCache.open(root, PATHS, SIZE, cacheDir);

        assertThat(rebuilt.fromDisk()).isFalse();
        assertThat(rebuilt.pixels(0)).isEqualTo(built.pixels(0));
        ImageCache reopened = ImageCache.open(root, PATHS, SIZE, cacheDir);
        assertThat(reopened.fromDisk()).isTrue();
        assertThat(reopened.pixels(3)).isEqualTo(built.pixels(3));
    }
}
