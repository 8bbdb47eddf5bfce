package org.wbctransfer.data;

import java.util.SplittableRandom;
import org.wbctransfer.config.Augmentation;

/**
 * Applies {@link Augmentation} to one cached RGB image and writes the normalized CHW floats into a
 * batch buffer. Every random draw comes from a generator seeded by (run seed, epoch, sample), so
 * a sample's augmentation does not depend on batch composition, thread timing or where a resumed
 * run restarted.
 */
public final class Augmenter {

    private final Augmentation aug;
    private final Normalization norm;
    private final int size;

    public Augmenter(Augmentation aug, Normalization norm, int size) {
        this.aug = aug;
        this.norm = norm;
        this.size = size;
    }

    /** A well-mixed 64-bit seed for one sample of one epoch (SplitMix64 finalizer). */
    public static long sampleSeed(long seed, int epoch, int sample) {
        long z = seed * 0x9E3779B97F4A7C15L + epoch * 0xBF58476D1CE4E5B9L + sample * 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Normalizes without augmentation (evaluation). */
    public void plain(byte[] rgb, float[] out, int offset) {
        int plane = size * size;
        for (int c = 0; c < 3; c++) {
            float m = (float) norm.mean()[c];
            float s = (float) (1.0 / (255.0 * norm.std()[c]));
            float m255 = m * 255f;
            int o = offset + c * plane;
            for (int i = 0; i < plane; i++) {
                out[o + i] = ((rgb[3 * i + c] & 0xff) - m255) * s;
            }
        }
    }

    /** Augments with the random stream of the given seed, then normalizes into out[offset..]. */
    public void augment(byte[] rgb, long sampleSeed, float[] out, int offset) {
        SplittableRandom rng = new SplittableRandom(sampleSeed);
        int plane = size * size;
        float[] r = new float[plane];
        float[] g = new float[plane];
        float[] b = new float[plane];
        geometric(rgb, rng, r, g, b);
        if (aug.isColour()) {
            colour(rng, r, g, b);
        }
        // The robustness levers draw after the older ones, and only when on, so recipes without
        // them see the same random stream as before the levers existed.
        if (aug.stain() > 0) {
            StainJitter.apply(rng, aug.stain(), r, g, b);
        }
        if (aug.grey() > 0 && rng.nextDouble() < aug.grey()) {
            grey(r, g, b);
        }
        if (aug.blur() > 0 && rng.nextBoolean()) {
            double sigma = rng.nextDouble() * aug.blur();
            for (float[] ch : new float[][] {r, g, b}) {
                gaussianBlur(ch, size, sigma);
            }
        }
        if (aug.jpeg() > 0 && rng.nextDouble() < aug.jpeg()) {
            jpeg(r, g, b, size, 0.30f + 0.65f * (float) rng.nextDouble());
        }
        float[][] ch = {r, g, b};
        for (int c = 0; c < 3; c++) {
            float m = (float) norm.mean()[c];
            float inv = (float) (1.0 / norm.std()[c]);
            int o = offset + c * plane;
            float[] src = ch[c];
            for (int i = 0; i < plane; i++) {
                out[o + i] = (src[i] - m) * inv;
            }
        }
    }

    private void geometric(byte[] rgb, SplittableRandom rng, float[] r, float[] g, float[] b) {
        double fx = 1;
        double fy = 1;
        double angle = 0;
        double s = 1;
        double tx = 0;
        double ty = 0;
        if (aug.flip()) {
            fx = rng.nextBoolean() ? -1 : 1;
            fy = rng.nextBoolean() ? -1 : 1;
        }
        switch (aug.rotation()) {
            case RIGHT_ANGLE -> angle = rng.nextInt(4) * Math.PI / 2;
            case FREE -> angle = rng.nextDouble() * 2 * Math.PI;
            default -> { }
        }
        if (aug.scale() > 0) {
            s = 1 + (rng.nextDouble() * 2 - 1) * aug.scale();
        }
        if (aug.translate() > 0) {
            tx = (rng.nextDouble() * 2 - 1) * aug.translate() * size;
            ty = (rng.nextDouble() * 2 - 1) * aug.translate() * size;
        }
        float[] fill = null;
        if (aug.zooms()) {
            double lo = Math.log(aug.zoomMin());
            s *= Math.exp(lo + rng.nextDouble() * (Math.log(aug.zoomMax()) - lo));
            // Zooming out must not smear the edge pixels into streaks: the slide's own background
            // colour (the border's mean) fills the frame, as around a cell on a real smear.
            fill = borderMean(rgb);
        }
        double c = (size - 1) / 2.0;
        // Inverse map: output pixel -> source coordinate (undo translate, scale, rotate, flip).
        double cos = Math.cos(angle);
        double sin = Math.sin(angle);
        // Snap right angles so that pure 90-degree rotations copy pixels exactly.
        if (Math.abs(cos) < 1e-12) cos = 0;
        if (Math.abs(sin) < 1e-12) sin = 0;
        double inv = 1.0 / s;
        float inv255 = 1f / 255f;
        int max = size - 1;
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                double dx = (x - c - tx) * inv;
                double dy = (y - c - ty) * inv;
                double sx = (cos * dx + sin * dy) * fx + c;
                double sy = (-sin * dx + cos * dy) * fy + c;
                int o = y * size + x;
                if (fill != null && (sx < -0.5 || sy < -0.5 || sx > max + 0.5 || sy > max + 0.5)) {
                    r[o] = fill[0];
                    g[o] = fill[1];
                    b[o] = fill[2];
                    continue;
                }
                sx = Math.min(Math.max(sx, 0), max);
                sy = Math.min(Math.max(sy, 0), max);
                int x0 = (int) sx;
                int y0 = (int) sy;
                int x1 = Math.min(x0 + 1, max);
                int y1 = Math.min(y0 + 1, max);
                float wx = (float) (sx - x0);
                float wy = (float) (sy - y0);
                int i00 = 3 * (y0 * size + x0);
                int i01 = 3 * (y0 * size + x1);
                int i10 = 3 * (y1 * size + x0);
                int i11 = 3 * (y1 * size + x1);
                r[o] = bilerp(rgb, i00, i01, i10, i11, 0, wx, wy) * inv255;
                g[o] = bilerp(rgb, i00, i01, i10, i11, 1, wx, wy) * inv255;
                b[o] = bilerp(rgb, i00, i01, i10, i11, 2, wx, wy) * inv255;
            }
        }
    }

    /** Mean colour of the outermost pixel ring, in [0, 1]. */
    private float[] borderMean(byte[] rgb) {
        double[] m = borderMean(rgb, size);
        return new float[] {(float) (m[0] / 255), (float) (m[1] / 255), (float) (m[2] / 255)};
    }

    /** Mean colour of the outermost pixel ring of a size x size RGB (HWC) image, per channel in [0, 255]. */
    public static double[] borderMean(byte[] rgb, int size) {
        double[] sum = new double[3];
        int n = 0;
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                if (y == 0 || x == 0 || y == size - 1 || x == size - 1) {
                    for (int c = 0; c < 3; c++) {
                        sum[c] += rgb[3 * (y * size + x) + c] & 0xff;
                    }
                    n++;
                }
            }
        }
        return new double[] {sum[0] / n, sum[1] / n, sum[2] / n};
    }

    private static void grey(float[] r, float[] g, float[] b) {
        for (int i = 0; i < r.length; i++) {
            float v = 0.299f * r[i] + 0.587f * g[i] + 0.114f * b[i];
            r[i] = v;
            g[i] = v;
            b[i] = v;
        }
    }

    /** Separable Gaussian blur of one square plane, edges clamped. */
    static void gaussianBlur(float[] plane, int size, double sigma) {
        int radius = (int) Math.ceil(3 * sigma);
        if (radius < 1) {
            return;
        }
        float[] k = new float[2 * radius + 1];
        double total = 0;
        for (int i = -radius; i <= radius; i++) {
            k[i + radius] = (float) Math.exp(-i * i / (2 * sigma * sigma));
            total += k[i + radius];
        }
        for (int i = 0; i < k.length; i++) {
            k[i] /= (float) total;
        }
        float[] tmp = new float[plane.length];
        int max = size - 1;
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                float v = 0;
                for (int i = -radius; i <= radius; i++) {
                    v += k[i + radius] * plane[y * size + Math.min(Math.max(x + i, 0), max)];
                }
                tmp[y * size + x] = v;
            }
        }
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                float v = 0;
                for (int i = -radius; i <= radius; i++) {
                    v += k[i + radius] * tmp[Math.min(Math.max(y + i, 0), max) * size + x];
                }
                plane[y * size + x] = v;
            }
        }
    }

    /** Round trip through ImageIO's JPEG codec at the given quality (0..1): the artefacts of a lossy archive. */
    private static void jpeg(float[] r, float[] g, float[] b, int size, float quality) {
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(size, size,
                java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int i = 0; i < r.length; i++) {
            img.setRGB(i % size, i / size, (to255(r[i]) << 16) | (to255(g[i]) << 8) | to255(b[i]));
        }
        javax.imageio.ImageWriter w = javax.imageio.ImageIO.getImageWritersByFormatName("jpeg").next();
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        // In memory: ImageIO's default stream for an OutputStream caches through a temp file.
        try (javax.imageio.stream.ImageOutputStream out = new javax.imageio.stream.MemoryCacheImageOutputStream(bytes)) {
            javax.imageio.ImageWriteParam p = w.getDefaultWriteParam();
            p.setCompressionMode(javax.imageio.ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(quality);
            w.setOutput(out);
            w.write(null, new javax.imageio.IIOImage(img, null, null), p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } finally {
            w.dispose();
        }
        java.awt.image.BufferedImage back;
        try {
            back = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(bytes.toByteArray()));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        for (int i = 0; i < r.length; i++) {
            int v = back.getRGB(i % size, i / size);
            r[i] = ((v >> 16) & 0xff) / 255f;
            g[i] = ((v >> 8) & 0xff) / 255f;
            b[i] = (v & 0xff) / 255f;
        }
    }

    private static int to255(float v) {
        return Math.round(clamp01(v) * 255f);
    }

    private static float bilerp(byte[] p, int i00, int i01, int i10, int i11, int c, float wx, float wy) {
        float top = (p[i00 + c] & 0xff) * (1 - wx) + (p[i01 + c] & 0xff) * wx;
        float bot = (p[i10 + c] & 0xff) * (1 - wx) + (p[i11 + c] & 0xff) * wx;
        return top * (1 - wy) + bot * wy;
    }

    private void colour(SplittableRandom rng, float[] r, float[] g, float[] b) {
        float bright = (float) (1 + (rng.nextDouble() * 2 - 1) * aug.brightness());
        float contrast = (float) (1 + (rng.nextDouble() * 2 - 1) * aug.contrast());
        float sat = (float) (1 + (rng.nextDouble() * 2 - 1) * aug.saturation());
        double hueTurn = (rng.nextDouble() * 2 - 1) * aug.hue() * 2 * Math.PI;
        int n = r.length;
        double graySum = 0;
        for (int i = 0; i < n; i++) {
            r[i] *= bright;
            g[i] *= bright;
            b[i] *= bright;
            graySum += 0.299 * r[i] + 0.587 * g[i] + 0.114 * b[i];
        }
        float meanGray = (float) (graySum / n);
        float hc = (float) Math.cos(hueTurn);
        float hs = (float) Math.sin(hueTurn);
        for (int i = 0; i < n; i++) {
            float rr = (r[i] - meanGray) * contrast + meanGray;
            float gg = (g[i] - meanGray) * contrast + meanGray;
            float bb = (b[i] - meanGray) * contrast + meanGray;
            float gray = 0.299f * rr + 0.587f * gg + 0.114f * bb;
            rr = gray + (rr - gray) * sat;
            gg = gray + (gg - gray) * sat;
            bb = gray + (bb - gray) * sat;
            if (hueTurn != 0) {
                // Hue rotation as a rotation of the chroma plane in YIQ space.
                float yy = 0.299f * rr + 0.587f * gg + 0.114f * bb;
                float ii = 0.596f * rr - 0.274f * gg - 0.322f * bb;
                float qq = 0.211f * rr - 0.523f * gg + 0.312f * bb;
                float i2 = ii * hc - qq * hs;
                float q2 = ii * hs + qq * hc;
                rr = yy + 0.956f * i2 + 0.621f * q2;
                gg = yy - 0.272f * i2 - 0.647f * q2;
                bb = yy - 1.106f * i2 + 1.703f * q2;
            }
            r[i] = clamp01(rr);
            g[i] = clamp01(gg);
            b[i] = clamp01(bb);
        }
    }

    private static float clamp01(float v) {
        return v < 0 ? 0 : (v > 1 ? 1 : v);
    }
}
