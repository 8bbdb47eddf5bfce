package org.wbctransfer.data;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes an image file of any common type into a square RGB array of a fixed size. Grey, 16-bit
 * and transparent PNGs and CMYK JPEGs (which ImageIO converts since Java 11) become 8-bit RGB
 * (transparent pixels white). Problems come back as {@link BadImageException} with a one-line message that
 * names what is wrong, so callers can skip the file and report it.
 */
public final class ImageDecoder {

    /** Larger images are refused before their pixels are decoded (decompression bombs). */
    public static final long MAX_PIXELS = 64L * 1024 * 1024;

    /** Why an input is not a usable image; a server answers each with a different status. */
    public enum Problem {
        /** No decoder recognises the content. */
        NOT_AN_IMAGE,
        /** The header claims more pixels than {@link #MAX_PIXELS}. */
        TOO_LARGE,
        /** A recognised format that cannot be read whole: empty, truncated, corrupt. */
        UNREADABLE
    }

    /** A file that is not a usable image. */
    public static final class BadImageException extends Exception {
        private final Problem problem;

        public BadImageException(String message) {
            this(Problem.UNREADABLE, message);
        }

        public BadImageException(Problem problem, String message) {
            super(message);
            this.problem = problem;
        }

        public Problem problem() {
            return problem;
        }
    }

    static {
        ImageIO.setUseCache(false); // no temp files; everything decodes in memory
    }

    private ImageDecoder() {}

    public static BufferedImage read(Path file) throws BadImageException {
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new BadImageException("cannot read file (" + e.getMessage() + ")");
        }
        if (size == 0) {
            throw new BadImageException("empty file");
        }
        try {
            return decode(ImageIO.createImageInputStream(file.toFile()), "file");
        } catch (IOException e) {
            throw new BadImageException("not a readable image (" + e.getMessage() + ")");
        }
    }

    /**
     * Decodes an image held in memory (an upload). The type is judged by the content (the
     * decoders' magic-byte checks), never by a name, with the same limits as {@link #read(Path)}.
     */
    public static BufferedImage read(byte[] bytes) throws BadImageException {
        if (bytes.length == 0) {
            throw new BadImageException("empty image");
        }
        try {
            return decode(ImageIO.createImageInputStream(new ByteArrayInputStream(bytes)), "image");
        } catch (IOException e) {
            throw new BadImageException("not a readable image (" + e.getMessage() + ")");
        }
    }

    private static BufferedImage decode(ImageInputStream stream, String what) throws BadImageException {
        try (ImageInputStream in = stream) {
            if (in == null) {
                throw new BadImageException("cannot open " + what);
            }
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new BadImageException(Problem.NOT_AN_IMAGE, "not a recognised image format");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long w = reader.getWidth(0);
                long h = reader.getHeight(0);
                if (w <= 0 || h <= 0 || w * h > MAX_PIXELS) {
                    throw new BadImageException(w <= 0 || h <= 0 ? Problem.UNREADABLE : Problem.TOO_LARGE,
                            "image claims " + w + "x" + h + " pixels (limit "
                            + MAX_PIXELS + " pixels); refused");
                }
                // The JPEG reader only warns about missing data and fills the rest with grey; such
                // a half image must not train as if it were whole. A merely missing EOI marker
                // (all data present) is still accepted.
                java.util.List<String> truncation = new java.util.ArrayList<>();
                reader.addIIOReadWarningListener((source, warning) -> {
                    if (warning != null && warning.toLowerCase(java.util.Locale.ROOT).contains("premature end")) {
                        truncation.add(warning);
                    }
                });
                BufferedImage img = reader.read(0);
                if (img == null) {
                    throw new BadImageException("decoder returned no image");
                }
                if (!truncation.isEmpty()) {
                    throw new BadImageException("truncated image (" + truncation.get(0) + ")");
                }
                return img;
            } finally {
                reader.dispose();
            }
        } catch (BadImageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().strip();
            if (msg.contains("Unsupported Image Type")) {
                // ImageIO converts CMYK and YCCK JPEGs itself; what it refuses is a colour layout it
                // cannot map to RGB (e.g. four components with an Adobe transform it does not know).
                throw new BadImageException("unsupported colour type (" + msg + "); save the image as RGB");
            }
            throw new BadImageException("not a readable image (" + msg.lines().findFirst().orElse("") + ")");
        }
    }

    /** Decodes and resizes to size x size, returning interleaved RGB bytes (HWC). */
    public static byte[] decodeRgb(Path file, int size) throws BadImageException {
        return toRgb(resizeSquare(read(file), size));
    }

    /**
     * Centre-crops to a square (cells sit in the middle of every crop) and downsizes by repeated
     * halving with bilinear filtering, which avoids the aliasing of a single large bilinear step.
     */
    public static BufferedImage resizeSquare(BufferedImage src, int size) {
        int w = src.getWidth();
        int h = src.getHeight();
        int side = Math.min(w, h);
        BufferedImage cur = new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = cur.createGraphics();
        // Transparent pixels become white, like a slide's bright background, not black.
        g.setColor(java.awt.Color.WHITE);
        g.fillRect(0, 0, side, side);
        g.drawImage(src, -(w - side) / 2, -(h - side) / 2, null);
        g.dispose();
        int curSize = side;
        while (curSize != size) {
            int next = curSize / 2 >= size ? curSize / 2 : size;
            BufferedImage dst = new BufferedImage(next, next, BufferedImage.TYPE_INT_RGB);
            Graphics2D g2 = dst.createGraphics();
            g2.setRenderingHint(RenderingHints.KEY_INTERPOLATION,
                    next < curSize ? RenderingHints.VALUE_INTERPOLATION_BILINEAR : RenderingHints.VALUE_INTERPOLATION_BICUBIC);
            g2.drawImage(cur, 0, 0, next, next, null);
            g2.dispose();
            cur = dst;
            curSize = next;
        }
        return cur;
    }

    public static byte[] toRgb(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        byte[] out = new byte[w * h * 3];
        for (int i = 0; i < argb.length; i++) {
            int p = argb[i];
            out[3 * i] = (byte) (p >> 16);
            out[3 * i + 1] = (byte) (p >> 8);
            out[3 * i + 2] = (byte) p;
        }
        return out;
    }
}
