package org.wbctransfer.data;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.metadata.IIOMetadata;
import org.w3c.dom.Node;

/**
 * CMYK and YCCK JPEGs as Photoshop writes them (an Adobe APP14 marker, four components, ink
 * values stored inverted). ImageIO's own conversion treats the inverted values as linear light
 * and encodes them as sRGB, so 50 % black comes out as 187 instead of 128: every such image
 * decodes washed out. Here the raw samples are read and converted with the plain ink formula
 * (R = (1 - C)(1 - K) and so on), which is what a viewer without the image's ICC profile shows.
 */
final class AdobeCmyk {

    private static final String FORMAT = "javax_imageio_jpeg_image_1.0";

    private AdobeCmyk() {}

    /** Whether the reader's current image is a four-component JPEG this class converts. */
    static boolean applies(ImageReader reader) throws IOException {
        if (!reader.getFormatName().equalsIgnoreCase("jpeg")) {
            return false;
        }
        ImageTypeSpecifier type;
        try {
            // The raw type is null for CMYK; the offered one is the reader's CMYK colour space.
            java.util.Iterator<ImageTypeSpecifier> types = reader.getImageTypes(0);
            type = types.hasNext() ? types.next() : null;
        } catch (IOException | RuntimeException e) {
            return false; // the ordinary read reports what is wrong
        }
        if (type == null || type.getNumBands() != 4
                || type.getColorModel().getColorSpace().getType() != java.awt.color.ColorSpace.TYPE_CMYK) {
            return false;
        }
        int t = transform(reader);
        return t == 0 || t == 2;
    }

    /** The Adobe marker's colour transform (0 CMYK, 1 YCbCr, 2 YCCK), or -1 without the marker. */
    static int transform(ImageReader reader) throws IOException {
        IIOMetadata md = reader.getImageMetadata(0);
        if (md == null || !java.util.Arrays.asList(md.getMetadataFormatNames()).contains(FORMAT)) {
            return -1;
        }
        Node adobe = find(md.getAsTree(FORMAT), "app14Adobe");
        if (adobe == null) {
            return -1;
        }
        Node t = adobe.getAttributes().getNamedItem("transform");
        return t == null ? -1 : Integer.parseInt(t.getNodeValue());
    }

    private static Node find(Node n, String name) {
        if (name.equals(n.getNodeName())) {
            return n;
        }
        for (Node c = n.getFirstChild(); c != null; c = c.getNextSibling()) {
            Node hit = find(c, name);
            if (hit != null) {
                return hit;
            }
        }
        return null;
    }

    /** The image as RGB, honouring the param's source region and subsampling. */
    static BufferedImage read(ImageReader reader, ImageReadParam param) throws IOException {
        boolean ycck = transform(reader) == 2;
        Raster r = reader.readRaster(0, param);
        int w = r.getWidth();
        int h = r.getHeight();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] px = new int[4 * w];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            r.getPixels(r.getMinX(), r.getMinY() + y, w, 1, px);
            for (int x = 0; x < w; x++) {
                row[x] = rgb(px[4 * x], px[4 * x + 1], px[4 * x + 2], px[4 * x + 3], ycck);
            }
            out.setRGB(0, y, w, 1, row, 0, w);
        }
        return out;
    }

    /**
     * One pixel's stored samples to RGB. Stored CMYK is inverted (255 = no ink), so a channel is
     * simply stored C times stored K. YCCK holds the YCbCr of (C, M, Y) as if they were RGB (the
     * encoder inverts the stored values first), and K inverted.
     */
    static int rgb(int a, int b, int c, int k, boolean ycck) {
        int ci;
        int mi;
        int yi;
        if (ycck) {
            // JFIF YCbCr -> RGB gives the ink amounts; 255 minus them is the stored (inverted) form.
            ci = 255 - clamp(a + 1.402 * (c - 128));
            mi = 255 - clamp(a - 0.344136 * (b - 128) - 0.714136 * (c - 128));
            yi = 255 - clamp(a + 1.772 * (b - 128));
        } else {
            ci = a;
            mi = b;
            yi = c;
        }
        int red = (ci * k + 127) / 255;
        int green = (mi * k + 127) / 255;
        int blue = (yi * k + 127) / 255;
        return (red << 16) | (green << 8) | blue;
    }

    private static int clamp(double v) {
        return (int) Math.max(0, Math.min(255, Math.round(v)));
    }
}
