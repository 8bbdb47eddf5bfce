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

    /**
     * A four-component JPEG with an Adobe APP14 marker, as Photoshop saves CMYK without a profile:
     * left half {@code left}, right half {@code right}, each the real ink amounts C, M, Y, K
     * (0..255). Transform 0 stores them inverted (255 = no ink); transform 2 (YCCK) stores the
     * YCbCr of (C, M, Y) read as RGB, and K inverted.
     */
    public static Path adobeJpeg(Path file, int side, int[] left, int[] right, int transform) {
        java.awt.image.WritableRaster r = java.awt.image.Raster.createInterleavedRaster(
                java.awt.image.DataBuffer.TYPE_BYTE, side, side, 4, null);
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) {
                int[] ink = x < side / 2 ? left : right;
                int[] stored;
                if (transform == 2) {
                    double c = ink[0];
                    double m = ink[1];
                    double k = ink[2];
                    stored = new int[] {(int) Math.round(0.299 * c + 0.587 * m + 0.114 * k),
                        (int) Math.round(128 - 0.168736 * c - 0.331264 * m + 0.5 * k),
                        (int) Math.round(128 + 0.5 * c - 0.418688 * m - 0.081312 * k), 255 - ink[3]};
                } else {
                    stored = new int[] {255 - ink[0], 255 - ink[1], 255 - ink[2], 255 - ink[3]};
                }
                r.setPixel(x, y, stored);
            }
        }
        javax.imageio.ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (javax.imageio.stream.ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
            w.setOutput(out);
            javax.imageio.ImageWriteParam p = w.getDefaultWriteParam();
            p.setCompressionMode(javax.imageio.ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(1f);
            w.write(null, new javax.imageio.IIOImage(r, null, null), p);
            out.flush();
            byte[] b = bytes.toByteArray();
            // APP14 "Adobe": length 14, version 100, flags0, flags1, colour transform; right after SOI.
            byte[] app14 = {(byte) 0xFF, (byte) 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, (byte) transform};
            byte[] all = new byte[b.length + app14.length];
            System.arraycopy(b, 0, all, 0, 2);
            System.arraycopy(app14, 0, all, 2, app14.length);
            System.arraycopy(b, 2, all, 2 + app14.length, b.length - 2);
            Files.createDirectories(file.getParent());
            return Files.write(file, all);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            w.dispose();
        }
    }
}
