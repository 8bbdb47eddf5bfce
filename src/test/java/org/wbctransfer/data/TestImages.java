package org.wbctransfer.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;

/** Small generated images for the data tests; real data is only used where its facts matter. */
public final class TestImages {

    private TestImages() {}

    /** The shared real data sets; a missing folder must fail the test, never skip it. */
    static Path dataRoot() {
        return Path.of(System.getProperty("wbc.data", "../shared/datasets"));
    }

    static BufferedImage noise(int w, int h, long seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Random r = new Random(seed);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, r.nextInt() & 0xffffff);
            }
        }
        return img;
    }

    public static Path write(BufferedImage img, String format, Path file) {
        try {
            Files.createDirectories(file.getParent());
            if (!ImageIO.write(img, format, file.toFile())) {
                throw new IllegalStateException("no ImageIO writer for " + format);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    static Path png(Path file, int w, int h, long seed) {
        return write(noise(w, h, seed), "png", file);
    }

    static Path jpeg(Path file, int w, int h, long seed) {
        return write(noise(w, h, seed), "jpg", file);
    }

    /**
     * A valid 1x1 PNG whose header claims width x height pixels, its CRC fixed up so only the size
     * is wrong: a decompression bomb that must be refused before any pixel is decoded.
     */
    public static Path pngClaiming(Path file, int width, int height) {
        try {
            byte[] b = Files.readAllBytes(png(file, 1, 1, 6));
            // Signature (8) + chunk length (4), then "IHDR" at 12, width at 16, height at 20, CRC at 29.
            if (!new String(b, 12, 4, java.nio.charset.StandardCharsets.US_ASCII).equals("IHDR")) {
                throw new IllegalStateException("unexpected PNG layout");
            }
            java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b);
            bb.putInt(16, width);
            bb.putInt(20, height);
            java.util.zip.CRC32 crc = new java.util.zip.CRC32();
            crc.update(b, 12, 4 + 13);
            bb.putInt(29, (int) crc.getValue());
            return Files.write(file, b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
