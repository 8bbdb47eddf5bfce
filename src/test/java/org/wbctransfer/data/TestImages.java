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
}
