package org.wbctransfer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.util.UserException;

class ImageFolderTest {

    @TempDir
    Path root;

    @Test
    void classesAreAlphabeticalWhateverTheCreationOrder() {
        // Created out of order so that a listing-order bug would show.
        TestImages.png(root.resolve("Neutrophil/n1.png"), 4, 4, 1);
        TestImages.jpeg(root.resolve("Basophil/b2.jpg"), 4, 4, 2);
        TestImages.jpeg(root.resolve("Basophil/b1.JPEG"), 4, 4, 3);
        TestImages.png(root.resolve("Lymphocyte/l1.png"), 4, 4, 4);

        ImageFolder f = ImageFolder.scan(root);

        assertThat(f.root()).isEqualTo(root);
        assertThat(f.classNames()).containsExactly("Basophil", "Lymphocyte", "Neutrophil");
        assertThat(f.items()).containsExactly(
                new ImageFolder.Item("Basophil/b1.JPEG", "Basophil"),
                new ImageFolder.Item("Basophil/b2.jpg", "Basophil"),
                new ImageFolder.Item("Lymphocyte/l1.png", "Lymphocyte"),
                new ImageFolder.Item("Neutrophil/n1.png", "Neutrophil"));
        assertThat(f.warnings()).isEmpty();
    }

    @Test
    void hiddenFilesAndFoldersAreIgnoredSilently() throws IOException {
        TestImages.png(root.resolve("A/a.png"), 4, 4, 1);
        Files.writeString(root.resolve("A/.DS_Store"), "junk");
        TestImages.png(root.resolve("A/.hidden.png"), 4, 4, 2);
        TestImages.png(root.resolve(".thumbnails/t.png"), 4, 4, 3);
        Files.writeString(root.resolve(".DS_Store"), "junk");

        ImageFolder f = ImageFolder.scan(root);

        assertThat(f.classNames()).containsExactly("A");
        assertThat(f.items()).extracting(ImageFolder.Item::relativePath).containsExactly("A/a.png");
        assertThat(f.warnings()).isEmpty();
    }

    @Test
    void nonImageFileIsSkippedWithAWarning() throws IOException {
        TestImages.png(root.resolve("A/a.png"), 4, 4, 1);
        Path notes = root.resolve("A/notes.txt");
        Files.writeString(notes, "not an image");

        ImageFolder f = ImageFolder.scan(root);

        assertThat(f.items()).extracting(ImageFolder.Item::relativePath).containsExactly("A/a.png");
        assertThat(f.warnings()).singleElement().asString()
                .contains(notes.toString())
                .contains("not an image");
    }

    @Test
    void emptyClassFolderIsLeftOutWithAWarning() throws IOException {
        TestImages.png(root.resolve("A/a.png"), 4, 4, 1);
        Files.createDirectories(root.resolve("B"));
        Files.createDirectories(root.resolve("C"));
        Files.writeString(root.resolve("C/readme.md"), "no images here");
        TestImages.png(root.resolve("D/d.png"), 4, 4, 2);

        ImageFolder f = ImageFolder.scan(root);

        assertThat(f.classNames()).containsExactly("A", "D");
        assertThat(f.items()).extracting(ImageFolder.Item::className).containsExactly("A", "D");
        assertThat(f.warnings()).anySatisfy(w -> assertThat(w).contains(root.resolve("B").toString()).contains("left out"));
        assertThat(f.warnings()).anySatisfy(w -> assertThat(w).contains(root.resolve("C").toString()).contains("left out"));
    }

    @Test
    void classFoldersDifferingOnlyInCaseAreRefused() {
        TestImages.png(root.resolve("Monocyte/a.png"), 4, 4, 1);
        TestImages.png(root.resolve("monocyte/b.png"), 4, 4, 2);

        assertThatThrownBy(() -> ImageFolder.scan(root))
                .isInstanceOf(UserException.class)
                .hasMessageContaining("Monocyte")
                .hasMessageContaining("monocyte")
                .hasMessageContaining("differ only in case");
    }

    @Test
    void missingRootNamesThePathAndTheExpectedLayout() {
        Path missing = root.resolve("no-such-dataset");
        assertThatThrownBy(() -> ImageFolder.scan(missing))
                .isInstanceOf(UserException.class)
                .hasMessageContaining(missing.toString())
                .hasMessageContaining("not found")
                .hasMessageContaining("<root>/<Class>/<image>");
    }

    @Test
    void rootThatIsAFileOrHoldsNoImagesIsAUserError() throws IOException {
        Path file = Files.writeString(root.resolve("file.txt"), "x");
        assertThatThrownBy(() -> ImageFolder.scan(file))
                .isInstanceOf(UserException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("not a folder");

        Path empty = Files.createDirectories(root.resolve("empty"));
        assertThatThrownBy(() -> ImageFolder.scan(empty))
                .isInstanceOf(UserException.class)
                .hasMessageContaining("no class folders");

        Files.createDirectories(empty.resolve("A"));
        assertThatThrownBy(() -> ImageFolder.scan(empty))
                .isInstanceOf(UserException.class)
                .hasMessageContaining("hold no images");
    }

    @Test
    void labelledListLayoutReadsLabelsCsvAndSkipsWhatItCannotUse(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path tecom = org.wbctransfer.TestData.datasets().resolve("wbc-seg/tecom");
        ImageFolder f = ImageFolder.scanEither(tecom, true);
        assertThat(f.items()).hasSize(300);
        assertThat(f.classNames()).containsExactly("Basophil", "Eosinophil", "Lymphocyte", "Monocyte", "Neutrophil");
        assertThat(f.items().stream().filter(i -> i.className().equals("Neutrophil")).count()).isEqualTo(176);
        assertThat(f.items().get(0).relativePath()).startsWith("images/");

        java.nio.file.Files.createDirectories(dir.resolve("images"));
        java.nio.file.Files.copy(tecom.resolve("images/001.png"), dir.resolve("images/a.png"));
        java.nio.file.Files.copy(tecom.resolve("images/002.png"), dir.resolve("images/unlisted.png"));
        java.nio.file.Files.writeString(dir.resolve("labels.csv"), "image,label\na.png,Lymphocyte\ngone.png,Monocyte\n");
        ImageFolder g = ImageFolder.scanEither(dir, false);
        assertThat(g.items()).containsExactly(new ImageFolder.Item("images/a.png", "Lymphocyte"));
        assertThat(g.warnings()).anyMatch(w -> w.contains("gone.png: listed in labels.csv but not found"))
                .anyMatch(w -> w.contains("unlisted.png: no row in labels.csv"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ImageFolder.scanEither(dir, true))
                .hasMessageContaining("gone.png: listed in labels.csv but not found");
    }
}
