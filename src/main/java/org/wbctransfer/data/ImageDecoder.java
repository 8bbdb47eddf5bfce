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
 * and transparent PNGs and CMYK JPEGs ({@link AdobeCmyk}) become 8-bit RGB (transparent pixels
 * white). Problems come back as {@link BadImageException} with a one-line message that
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
        return read(file, 0);
    }

    /**
     * Reads an image that will be shrunk to {@code size} x {@code size} (0: kept whole): one much
     * larger than that is decoded subsampled, its centre square only (see {@link #subsampling}).
     */
    public static BufferedImage read(Path file, int size) throws BadImageException {
        long bytes;
        try {
            bytes = Files.size(file);
        } catch (IOException e) {
            throw new BadImageException("cannot read file (" + e.getMessage() + ")");
        }
        if (bytes == 0) {
            throw new BadImageException("empty file");
        }
        try {
            return decode(ImageIO.createImageInputStream(file.toFile()), "file", size);
        } catch (IOException e) {
            throw new BadImageException("not a readable image (" + e.getMessage() + ")");
        }
    }

    public static BufferedImage read(byte[] bytes) throws BadImageException {
        return read(bytes, 0);
    }

    /**
     * Decodes an image held in memory (an upload). The type is judged by the content (the
     * decoders' magic-byte checks), never by a name, with the same limits as {@link #read(Path, int)}.
     */
    public static BufferedImage read(byte[] bytes, int size) throws BadImageException {
        if (bytes.length == 0) {
            throw new BadImageException("empty image");
        }
        try {
            return decode(ImageIO.createImageInputStream(new ByteArrayInputStream(bytes)), "image", size);
        } catch (IOException e) {
            throw new BadImageException("not a readable image (" + e.getMessage() + ")");
        }
    }

    /**
     * Images whose shorter side is at least this many times the target side are decoded
     * subsampled. Below it they decode whole, as every microscope crop in the study's data does, so
     * their pixels (and a model's predictions) do not depend on this shortcut.
     */
    static final int SUBSAMPLE_FROM = 16;
    /** A subsampled decode keeps at least this many times the target side, so the halving that follows still filters. */
    static final int SUBSAMPLE_TO = 4;

    /**
     * The source subsampling step for an image of w x h shrunk to size: 1 (every pixel) unless the
     * shorter side is at least {@value #SUBSAMPLE_FROM} x size; then the largest step that keeps
     * {@value #SUBSAMPLE_TO} x size pixels on the side, so the decoded centre square holds at most
     * about 16 times the model's input area instead of, say, 8000 x 8000 pixels for a 64 px model.
     */
    static int subsampling(long w, long h, int size) {
        long side = Math.min(w, h);
        if (size <= 0 || side < (long) SUBSAMPLE_FROM * size) {
            return 1;
        }
        return (int) (side / ((long) SUBSAMPLE_TO * size));
    }

    /** Images smaller than this on a side are upscaled so much that a prediction on them means little. */
    public static final int MIN_SIDE = 16;

    /** A warning for an image too small to classify reliably (below {@value #MIN_SIDE} px on a side), or null. */
    public static String smallImageWarning(BufferedImage img, int size) {
        if (Math.min(img.getWidth(), img.getHeight()) >= Math.min(MIN_SIDE, size)) {
            return null;
        }
        return "only " + img.getWidth() + "x" + img.getHeight() + " pixels, upscaled to " + size
                + " px; the prediction may be unreliable";
    }

    private static BufferedImage decode(ImageInputStream stream, String what, int size) throws BadImageException {
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
                javax.imageio.ImageReadParam param = reader.getDefaultReadParam();
                int step = subsampling(w, h, size);
                if (step > 1) {
                    int side = (int) Math.min(w, h);
                    // Only the centre square: resizeSquare would crop the rest away anyway.
                    param.setSourceRegion(new java.awt.Rectangle((int) (w - side) / 2, (int) (h - side) / 2, side, side));
                    param.setSourceSubsampling(step, step, 0, 0);
                }
                BufferedImage img = AdobeCmyk.applies(reader) ? AdobeCmyk.read(reader, param) : reader.read(0, param);
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
                // CMYK and YCCK JPEGs are converted (AdobeCmyk); what is left is a colour layout
                // that cannot be mapped to RGB (e.g. four components with Adobe transform 1, YCbCr).
                throw new BadImageException("unsupported colour type (" + msg + "); save the image as RGB");
            }
            throw new BadImageException("not a readable image (" + msg.lines().findFirst().orElse("") + ")");
        }
    }

    /** Decodes and resizes to size x size, returning interleaved RGB bytes (HWC). */
    public static byte[] decodeRgb(Path file, int size) throws BadImageException {
        return decodeRgb(file, size, null);
    }

    /** As {@link #decodeRgb(Path, int)}, the image first framed by {@code framing} (null: the centre square). */
    public static byte[] decodeRgb(Path file, int size, Framing framing) throws BadImageException {
        BufferedImage img = read(file, size);
        return framedRgb(framing == null ? img : framing.frame(img), size, framing);
    }

    /**
     * An image {@code framing} has framed (or, without one, the decoded image) as the network's
     * pixels: centre square resized to size x size, then the framing's finishing step. The one
     * path from a framed image to those bytes, so that the image cache and {@code ModelInput}
     * cannot disagree.
     */
    public static byte[] framedRgb(BufferedImage framed, int size, Framing framing) {
        byte[] rgb = toRgb(resizeSquare(framed, size));
        return framing == null ? rgb : framing.finish(rgb);
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
