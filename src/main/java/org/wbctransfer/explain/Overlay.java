package org.wbctransfer.explain;

import java.awt.image.BufferedImage;
import org.wbctransfer.data.ImageDecoder;

/**
 * Draws a Grad-CAM map over an image in plain Java2D raster operations (no display needed, so it
 * works headless on a server).
 */
public final class Overlay {

    /** Heat opacity: enough to read the map, little enough to still see the cell under it. */
    public static final double ALPHA = 0.45;

    private Overlay() {}

    /**
     * Blends a jet-coloured heat map over a square image of the same side as the map.
     *
     * @param base the image, size x size
     * @param heat values in [0, 1], size x size, row-major
     */
    public static BufferedImage render(BufferedImage base, float[] heat, int size) {
        if (base.getWidth() != size || base.getHeight() != size || heat.length != size * size) {
            throw new IllegalArgumentException("image, map and size disagree");
        }
        BufferedImage out = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int p = base.getRGB(x, y);
                int jet = jet(heat[y * size + x]);
                int r = blend((p >> 16) & 0xff, (jet >> 16) & 0xff);
                int g = blend((p >> 8) & 0xff, (jet >> 8) & 0xff);
                int b = blend(p & 0xff, jet & 0xff);
                out.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        return out;
    }

    /** The map of {@code r} over the image's centre square (what the model saw), size x size. */
    public static BufferedImage over(BufferedImage image, GradCam.Result r, int size) {
        return render(ImageDecoder.resizeSquare(image, size), r.upsampled(size), size);
    }

    private static int blend(int base, int heat) {
        return (int) Math.round((1 - ALPHA) * base + ALPHA * heat);
    }

    /** The jet colour map (blue, cyan, yellow, red) as RGB; low values cool, high values hot. */
    public static int jet(float v) {
        double t = Math.min(Math.max(v, 0), 1);
        int r = channel(1.5 - Math.abs(4 * t - 3));
        int g = channel(1.5 - Math.abs(4 * t - 2));
        int b = channel(1.5 - Math.abs(4 * t - 1));
        return (r << 16) | (g << 8) | b;
    }

    private static int channel(double v) {
        return (int) Math.round(255 * Math.min(Math.max(v, 0), 1));
    }
}
