package org.wbctransfer.pretrain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.data.ImageDecoder;
import org.wbctransfer.util.UserException;

class MaskDatasetTest {

    static Path wbcSeg() {
        return Path.of(System.getProperty("wbc.data", "../shared/datasets")).resolve("wbc-seg");
    }

    @TempDir
    Path tmp;

    @Test
    void loadsAllRealPairsWithThreeClasses() throws IOException {
        MaskDataset d = MaskDataset.load(wbcSeg(), 32);
        assertThat(d.size()).isEqualTo(400);
        assertThat(d.pairs().stream().filter(p -> p.image().startsWith("tecom/images/"))).hasSize(300);
        assertThat(d.pairs().stream().filter(p -> p.image().startsWith("cellavision/images/"))).hasSize(100);
        assertThat(d.warnings()).isEmpty();
        long[] n = new long[256];
        for (MaskDataset.Pair p : d.pairs()) {
            assertThat(p.rgb()).hasSize(32 * 32 * 3);
            assertThat(p.labels()).hasSize(32 * 32);
            assertThat(p.mask()).isEqualTo(p.image().replace("/images/", "/masks/"));
            for (byte b : p.labels()) {
                n[b & 0xff]++;
            }
        }
        for (int v = 3; v < 256; v++) {
            assertThat(n[v]).as("pixels with class %d", v).isZero();
        }
        assertThat(n[0]).isPositive();
        assertThat(n[1]).isPositive();
        assertThat(n[2]).isPositive();
        // One source folder on its own is a root too.
        assertThat(MaskDataset.load(wbcSeg().resolve("cellavision"), 32).size()).isEqualTo(100);
    }

    @Test
    void roundsStrayGreyValuesToTheNearestLevel() throws Exception {
        int[] grey = {0, 10, 63, 64, 120, 128, 191, 192, 250, 255};
        int[] expected = {0, 0, 0, 1, 1, 1, 1, 2, 2, 2};
        BufferedImage m = new BufferedImage(grey.length, grey.length, BufferedImage.TYPE_BYTE_GRAY);
        WritableRaster r = m.getRaster();
        for (int y = 0; y < grey.length; y++) {
            for (int x = 0; x < grey.length; x++) {
                r.setSample(x, y, 0, grey[x]);
            }
        }
        Path f = tmp.resolve("mask.png");
        ImageIO.write(m, "png", f.toFile());
        // Through the real decoder: a grey PNG must not pass through an sRGB conversion.
        byte[] labels = MaskDataset.labels(ImageDecoder.read(f), grey.length);
        for (int x = 0; x < grey.length; x++) {
            assertThat(labels[3 * grey.length + x]).as("grey %d", grey[x]).isEqualTo((byte) expected[x]);
        }
    }

    @Test
    void cropsTheCentreSquareAndResizesMasksByNearestNeighbour() {
        // 6 wide, 2 high: the centre square is columns 2..3; downsizing to 1 px must pick a
        // pixel of it, never a blend of classes.
        BufferedImage m = new BufferedImage(6, 2, BufferedImage.TYPE_BYTE_GRAY);
        int[] row = {255, 255, 128, 128, 0, 0};
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 6; x++) {
                m.getRaster().setSample(x, y, 0, row[x]);
            }
        }
        assertThat(MaskDataset.labels(m, 2)).containsExactly(1, 1, 1, 1);
        assertThat(MaskDataset.labels(m, 4)).containsOnly(1);
        assertThat(MaskDataset.labels(m, 1)).containsExactly(1);
    }

    @Test
    void readsTheStudyLayout() throws IOException {
        Path set = tmp.resolve("WBC_10");
        image(set.resolve("train/Lymphocyte/a.jpg"), 40, 40);
        mask(set.resolve("train/mask/Lymphocyte/a.jpg"), 40, 40);
        image(set.resolve("train/Lymphocyte/b.jpg"), 40, 40); // no mask: normal in this layout
        image(set.resolve("train/Neutrophil/c.png"), 50, 50);
        mask(set.resolve("train/mask/Neutrophil/c.png"), 50, 50);
        mask(set.resolve("train/mask/Neutrophil/gone.png"), 50, 50); // mask without image
        for (Path root : new Path[] {set, set.resolve("train")}) {
            MaskDataset d = MaskDataset.load(root, 16);
            String prefix = root.equals(set) ? "train/" : "";
            assertThat(d.pairs()).extracting(MaskDataset.Pair::image)
                    .containsExactly(prefix + "Lymphocyte/a.jpg", prefix + "Neutrophil/c.png");
            assertThat(d.pairs()).extracting(MaskDataset.Pair::mask)
                    .containsExactly(prefix + "mask/Lymphocyte/a.jpg", prefix + "mask/Neutrophil/c.png");
            assertThat(d.warnings()).singleElement().asString().contains("gone.png");
            // The generated mask: background left third, cytoplasm middle, nucleus right.
            byte[] l = d.pairs().get(1).labels();
            assertThat(l[8 * 16]).isEqualTo((byte) 0);
            assertThat(l[8 * 16 + 8]).isEqualTo((byte) 1);
            assertThat(l[8 * 16 + 15]).isEqualTo((byte) 2);
        }
    }

    @Test
    void skipsMissingMismatchedAndUnreadableMasksWithAWarningNamingTheFile() throws IOException {
        Path src = tmp.resolve("lab");
        image(src.resolve("images/001.png"), 30, 30);
        mask(src.resolve("masks/001.png"), 30, 30);
        image(src.resolve("images/002.png"), 30, 30); // no mask
        image(src.resolve("images/003.png"), 30, 30);
        mask(src.resolve("masks/003.png"), 20, 20); // wrong size
        image(src.resolve("images/004.png"), 30, 30);
        Files.writeString(src.resolve("masks/004.png"), "not a png"); // unreadable
        MaskDataset d = MaskDataset.load(src, 16);
        assertThat(d.pairs()).extracting(MaskDataset.Pair::image).containsExactly("images/001.png");
        assertThat(d.warnings()).hasSize(3);
        assertThat(d.warnings().get(0)).contains(src.resolve("images/002.png").toString()).contains("no mask");
        assertThat(d.warnings().get(1)).contains("003.png").contains("30x30").contains("20x20");
        assertThat(d.warnings().get(2)).contains(src.resolve("masks/004.png").toString());
    }

    @Test
    void noUsablePairsIsAUserErrorNamingFolderAndLayout() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("nothing/here"));
        assertThatThrownBy(() -> MaskDataset.load(empty, 16)).isInstanceOf(UserException.class)
                .hasMessageContaining(empty.toString()).hasMessageContaining("images/").hasMessageContaining("masks/");
        Path src = tmp.resolve("only-images");
        image(src.resolve("images/1.png"), 20, 20);
        Files.createDirectories(src.resolve("masks"));
        assertThatThrownBy(() -> MaskDataset.load(src, 16)).isInstanceOf(UserException.class)
                .hasMessageContaining(src.toString()).hasMessageContaining("no usable");
    }

    private static void image(Path f, int w, int h) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Random r = new Random(f.hashCode());
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, r.nextInt() & 0xffffff);
            }
        }
        Files.createDirectories(f.getParent());
        String fn = f.getFileName().toString();
        ImageIO.write(img, fn.substring(fn.lastIndexOf('.') + 1), f.toFile());
    }

    /** A grey mask always written as PNG bytes (also under a .jpg name), thirds 0 / 128 / 255. */
    private static void mask(Path f, int w, int h) throws IOException {
        BufferedImage m = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                m.getRaster().setSample(x, y, 0, x < w / 3 ? 0 : (x < 2 * w / 3 ? 128 : 255));
            }
        }
        Files.createDirectories(f.getParent());
        ImageIO.write(m, "png", f.toFile());
    }
}
