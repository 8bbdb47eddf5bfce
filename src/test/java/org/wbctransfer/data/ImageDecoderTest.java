package org.wbctransfer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.data.ImageDecoder.BadImageException;

class ImageDecoderTest {

    @TempDir
    Path dir;

    private static int px(byte[] rgb, int size, int x, int y, int c) {
        return rgb[3 * (y * size + x) + c] & 0xff;
    }

    @Test
    void emptyFileIsRefused() throws Exception {
        Path f = Files.createFile(dir.resolve("empty.jpg"));
        assertThatThrownBy(() -> ImageDecoder.decodeRgb(f, 8))
                .isInstanceOf(BadImageException.class)
                .hasMessageContaining("empty file");
    }

    @Test
    void missingFileIsABadImageNotACrash() {
        assertThatThrownBy(() -> ImageDecoder.decodeRgb(dir.resolve("gone.png"), 8))
                .isInstanceOf(BadImageException.class)
                .hasMessageContaining("cannot read file");
    }

    @Test
    void randomBytesWithAJpegNameAreRefused() throws Exception {
        byte[] junk = new byte[4096];
        new Random(7).nextBytes(junk);
        junk[0] = 0; // no accidental JPEG/PNG/GIF/BMP magic
        Path f = Files.write(dir.resolve("noise.jpg"), junk);
        assertThatThrownBy(() -> ImageDecoder.decodeRgb(f, 8))
                .isInstanceOf(BadImageException.class)
                .hasMessageContaining("not a recognised image format");
    }

    @Test
    void truncatedJpegIsRefusedNotFilledWithGrey() throws Exception {
        Path whole = TestImages.jpeg(dir.resolve("whole.jpg"), 64, 64, 3);
        byte[] bytes = Files.readAllBytes(whole);
        assertThat(ImageDecoder.decodeRgb(whole, 64)).hasSize(64 * 64 * 3);

        Path half = Files.write(dir.resolve("half.jpg"), Arrays.copyOf(bytes, bytes.length / 2));
        assertThatThrownBy(() -> ImageDecoder.decodeRgb(half, 64))
                .isInstanceOf(BadImageException.class)
                .hasMessageContaining("truncated");
    }

    @Test
    void jpegMissingOnlyItsEndMarkerStillDecodes() throws Exception {
        Path whole = TestImages.jpeg(dir.resolve("whole.jpg"), 32, 32, 4);
        byte[] bytes = Files.readAllBytes(whole);
        // All scan data is present; only the final EOI marker (FF D9) is gone.
        Path noEoi = Files.write(dir.resolve("no-eoi.jpg"), Arrays.copyOf(bytes, bytes.length - 2));
        assertThat(ImageDecoder.decodeRgb(noEoi, 32)).isEqualTo(ImageDecoder.decodeRgb(whole, 32));
    }

    @Test
    void truncatedPngIsRefused() throws Exception {
        Path whole = TestImages.png(dir.resolve("whole.png"), 64, 64, 5);
        byte[] bytes = Files.readAllBytes(whole);
        Path half = Files.write(dir.resolve("half.png"), Arrays.copyOf(bytes, bytes.length / 2));
        assertThatThrownBy(() -> ImageDecoder.decodeRgb(half, 64))
                .isInstanceOf(BadImageException.class)
                .hasMessageContaining("not a readable image");
    }

    @Test
    void transparentPixelsBecomeWhite() throws Exception {
        BufferedImage img = new BufferedImage(4, 4, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 4; x++) {
                img.setRGB(x, y, 0xFF102030);
            }
        }
        img.setRGB(0, 0, 0x00000000); // transparent black
        img.setRGB(1, 0, 0x00FF0000); // transparent red
        img.setRGB(2, 0, 0xFFFF0000); // opaque red
        Path f = TestImages.write(img, "png", dir.resolve("alpha.png"));

        byte[] rgb = ImageDecoder.decodeRgb(f, 4);

        assertThat(rgb).hasSize(4 * 4 * 3);
        assertThat(new int[] {px(rgb, 4, 0, 0, 0), px(rgb, 4, 0, 0, 1), px(rgb, 4, 0, 0, 2)}).containsExactly(255, 255, 255);
        assertThat(new int[] {px(rgb, 4, 1, 0, 0), px(rgb, 4, 1, 0, 1), px(rgb, 4, 1, 0, 2)}).containsExactly(255, 255, 255);
        assertThat(new int[] {px(rgb, 4, 2, 0, 0), px(rgb, 4, 2, 0, 1), px(rgb, 4, 2, 0, 2)}).containsExactly(255, 0, 0);
        assertThat(new int[] {px(rgb, 4, 3, 3, 0), px(rgb, 4, 3, 3, 1), px(rgb, 4, 3, 3, 2)}).containsExactly(0x10, 0x20, 0x30);
    }

    @Test
    void grayscalePngKeepsItsLevelsInAllThreeChannels() throws Exception {
        BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                img.getRaster().setSample(x, y, 0, y * 16 + x);
            }
        }
        Path f = TestImages.write(img, "png", dir.resolve("gray.png"));

        byte[] rgb = ImageDecoder.decodeRgb(f, 16);

        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                for (int c = 0; c < 3; c++) {
                    assertThat(px(rgb, 16, x, y, c)).as("(%d,%d) channel %d", x, y, c).isEqualTo(y * 16 + x);
                }
            }
        }
    }

    @Test
    void sixteenBitGrayPngMapsToItsHighByte() throws Exception {
        BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_USHORT_GRAY);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                img.getRaster().setSample(x, y, 0, (y * 16 + x) * 257);
            }
        }
        Path f = TestImages.write(img, "png", dir.resolve("gray16.png"));
        assertThat(ImageDecoder.read(f).getType()).isEqualTo(BufferedImage.TYPE_USHORT_GRAY);

        byte[] rgb = ImageDecoder.decodeRgb(f, 16);

        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                for (int c = 0; c < 3; c++) {
                    assertThat(px(rgb, 16, x, y, c)).as("(%d,%d) channel %d", x, y, c).isBetween(y * 16 + x - 1, y * 16 + x + 1);
                }
            }
        }
    }

    @Test
    void pngClaimingHugeDimensionsIsRefusedBeforeDecoding() throws Exception {
        Path bomb = TestImages.pngClaiming(dir.resolve("bomb.png"), 100_000, 100_000);

        assertThatThrownBy(() -> ImageDecoder.decodeRgb(bomb, 64))
                .isInstanceOf(BadImageException.class)
                .hasMessageContaining("100000x100000")
                .hasMessageContaining("refused");
    }

    @Test
    void realRaabinImageResizesTo64WithItsColoursKept() throws Exception {
        Path folder = TestImages.dataRoot().resolve("raabin-wbc/train/Basophil");
        Path file;
        try (Stream<Path> s = Files.list(folder)) {
            file = s.filter(p -> p.toString().endsWith(".jpg")).sorted().findFirst().orElseThrow();
        }
        BufferedImage full = ImageDecoder.read(file);
        assertThat(full.getWidth()).isEqualTo(256);
        assertThat(full.getHeight()).isEqualTo(256);

        byte[] small = ImageDecoder.decodeRgb(file, 64);
        byte[] big = ImageDecoder.toRgb(full);

        assertThat(small).hasSize(64 * 64 * 3);
        // Averaging filters keep each channel's mean; a wrong channel order or offset would not.
        for (int c = 0; c < 3; c++) {
            assertThat(mean(small, c)).as("channel %d", c).isCloseTo(mean(big, c), org.assertj.core.data.Offset.offset(2.0));
        }
    }

    private static double mean(byte[] rgb, int c) {
        double s = 0;
        for (int i = c; i < rgb.length; i += 3) {
            s += rgb[i] & 0xff;
        }
        return s / (rgb.length / 3.0);
    }

    @Test
    void wideImageIsCentreCropped() throws Exception {
        // Red encodes the column and green the row, so each output pixel tells where it came from.
        BufferedImage img = new BufferedImage(100, 50, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 50; y++) {
            for (int x = 0; x < 100; x++) {
                img.setRGB(x, y, (x << 16) | (y << 8) | 7);
            }
        }
        Path f = TestImages.write(img, "png", dir.resolve("wide.png"));

        byte[] rgb = ImageDecoder.decodeRgb(f, 50);

        for (int y = 0; y < 50; y++) {
            for (int x = 0; x < 50; x++) {
                assertThat(px(rgb, 50, x, y, 0)).isEqualTo(x + 25);
                assertThat(px(rgb, 50, x, y, 1)).isEqualTo(y);
                assertThat(px(rgb, 50, x, y, 2)).isEqualTo(7);
            }
        }
    }

    @Test
    void tallImageIsCentreCroppedThenResized() throws Exception {
        // Top and bottom quarters are red and blue; the centre square is pure green.
        BufferedImage img = new BufferedImage(40, 80, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 80; y++) {
            for (int x = 0; x < 40; x++) {
                img.setRGB(x, y, y < 20 ? 0xFF0000 : (y >= 60 ? 0x0000FF : 0x00FF00));
            }
        }
        Path f = TestImages.write(img, "png", dir.resolve("tall.png"));

        byte[] rgb = ImageDecoder.decodeRgb(f, 10);

        assertThat(rgb).hasSize(10 * 10 * 3);
        for (int i = 0; i < 100; i++) {
            assertThat(new int[] {rgb[3 * i] & 0xff, rgb[3 * i + 1] & 0xff, rgb[3 * i + 2] & 0xff})
                    .as("pixel %d", i).containsExactly(0, 255, 0);
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {0, 2})
    void adobeCmykAndYcckJpegsKeepTheirMidTones(int transform) throws Exception {
        // 50 % black alone, and 50 % cyan alone: a viewer without a profile shows grey 128 and
        // (128, 255, 255). ImageIO's own conversion gave 187 for both (washed out).
        Path f = TestImages.adobeJpeg(dir.resolve("cmyk" + transform + ".jpg"), 32, new int[] {0, 0, 0, 128},
                new int[] {128, 0, 0, 0}, transform);
        byte[] rgb = ImageDecoder.decodeRgb(f, 32);
        org.assertj.core.data.Offset<Integer> jpeg = org.assertj.core.data.Offset.offset(4);
        for (int c = 0; c < 3; c++) {
            assertThat(px(rgb, 32, 5, 16, c)).as("grey, channel %d", c).isCloseTo(127, jpeg);
        }
        assertThat(px(rgb, 32, 27, 16, 0)).isCloseTo(127, jpeg);
        assertThat(px(rgb, 32, 27, 16, 1)).isCloseTo(255, jpeg);
        assertThat(px(rgb, 32, 27, 16, 2)).isCloseTo(255, jpeg);
    }

    @Test
    void aFarLargerImageIsDecodedSubsampledAndOnlyItsCentreSquare() throws Exception {
        // 2048 x 1024 for a 64 px model: the shorter side is 16 x 64, so the centre 1024 square
        // is read at every 4th pixel (256 x 256, 16 x the model's area) instead of 2 M pixels.
        BufferedImage img = new BufferedImage(2048, 1024, BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D g = img.createGraphics();
        g.setColor(java.awt.Color.RED);
        g.fillRect(0, 0, 2048, 1024);
        g.setColor(java.awt.Color.BLUE);
        g.fillRect(512, 0, 1024, 1024);
        g.dispose();
        Path f = TestImages.write(img, "png", dir.resolve("wide.png"));

        BufferedImage read = ImageDecoder.read(f, 64);
        assertThat(read.getWidth()).isEqualTo(256);
        assertThat(read.getHeight()).isEqualTo(256);
        assertThat(read.getRGB(0, 0) & 0xffffff).isEqualTo(0x0000ff);
        assertThat(read.getRGB(255, 255) & 0xffffff).isEqualTo(0x0000ff);
        // The model input is what the whole image gives: the blue centre square.
        byte[] rgb = ImageDecoder.decodeRgb(f, 64);
        assertThat(px(rgb, 64, 0, 0, 2)).isEqualTo(255);
        assertThat(px(rgb, 64, 63, 63, 0)).isZero();
        // Whole when not asked to shrink.
        assertThat(ImageDecoder.read(f).getWidth()).isEqualTo(2048);
    }

    @Test
    void imagesBelowSixteenTimesTheModelSideDecodeWhole() throws Exception {
        Path f = TestImages.png(dir.resolve("crop.png"), 1000, 1020, 4);
        BufferedImage read = ImageDecoder.read(f, 64);
        assertThat(read.getWidth()).isEqualTo(1000);
        assertThat(read.getHeight()).isEqualTo(1020);
        assertThat(ImageDecoder.decodeRgb(f, 64)).containsExactly(
                ImageDecoder.toRgb(ImageDecoder.resizeSquare(ImageDecoder.read(f), 64)));
        assertThat(ImageDecoder.subsampling(1023, 5000, 64)).isEqualTo(1);
        assertThat(ImageDecoder.subsampling(1024, 5000, 64)).isEqualTo(4);
        assertThat(ImageDecoder.subsampling(8000, 8000, 64)).isEqualTo(31);
    }

    @Test
    void anImageSmallerThanSixteenPixelsOnASideIsFlagged() throws Exception {
        BufferedImage tiny = TestImages.noise(12, 40, 1);
        assertThat(ImageDecoder.smallImageWarning(tiny, 64)).isEqualTo(
                "only 12x40 pixels, upscaled to 64 px; the prediction may be unreliable");
        assertThat(ImageDecoder.smallImageWarning(TestImages.noise(16, 16, 1), 64)).isNull();
    }
}
