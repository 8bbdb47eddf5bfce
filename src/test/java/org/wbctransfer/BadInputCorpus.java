package org.wbctransfer;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

/**
 * Generates the bad (and merely unusual) input that users feed the tool, into a test's temp
 * folder: images that must load in spite of their format, files that must be skipped (or, with
 * --strict, refused) with a message naming the problem, and folder-level traps. Everything is
 * tiny (24 px) so that commands run on it in seconds.
 */
public final class BadInputCorpus {

    private BadInputCorpus() {}

    /** Side of the generated images. */
    public static final int SIDE = 24;

    /** One kind of file; {@code problem} is a fragment of the message it must be refused with, null when it must load. */
    public enum Kind {
        ALPHA_PNG("alpha.png", null),
        GRAY_PNG("gray.png", null),
        GRAY16_PNG("gray16.png", null),
        RGB16_PNG("rgb16.png", null),
        CMYK_JPEG("cmyk.jpg", null),
        NON_ASCII_NAME("Zelle-\u00e4-\u65e5\u672c.jpg", null),
        EMPTY("empty.jpg", "empty file"),
        TRUNCATED_JPEG("truncated.jpg", "truncated"),
        RANDOM_BYTES("random.jpg", "not a recognised image format"),
        BOMB_PNG("bomb.png", "100000x100000"),
        UNSUPPORTED_JPEG("adobe-transform-1.jpg", "unsupported colour type"),
        NON_IMAGE("README.txt", "not an image file extension");

        public final String fileName;
        public final String problem;

        Kind(String fileName, String problem) {
            this.fileName = fileName;
            this.problem = problem;
        }

        public boolean valid() {
            return problem == null;
        }

        /** Image files the decoder must refuse (not the README, which never reaches it). */
        public boolean undecodable() {
            return problem != null && this != NON_IMAGE;
        }

        public Path write(Path dir) {
            Path f = dir.resolve(fileName);
            try {
                Files.createDirectories(dir);
                switch (this) {
                    case ALPHA_PNG -> alphaPng(f);
                    case GRAY_PNG -> grayPng(f, false);
                    case GRAY16_PNG -> grayPng(f, true);
                    case RGB16_PNG -> rgb16Png(f);
                    case CMYK_JPEG -> cmykJpeg(f, 0);
                    case NON_ASCII_NAME -> BadInputCorpus.write(noise(SIDE, 7), "jpg", f);
                    case EMPTY -> Files.write(f, new byte[0]);
                    case TRUNCATED_JPEG -> truncatedJpeg(f);
                    case RANDOM_BYTES -> randomBytes(f);
                    case BOMB_PNG -> bombPng(f);
                    case UNSUPPORTED_JPEG -> cmykJpeg(f, 1);
                    case NON_IMAGE -> Files.writeString(f, "Images from the lab's 2023 batch.\n");
                    default -> throw new IllegalStateException();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return f;
        }

        public static List<Kind> validKinds() {
            return Arrays.stream(values()).filter(Kind::valid).toList();
        }

        public static List<Kind> invalidKinds() {
            return Arrays.stream(values()).filter(k -> !k.valid()).toList();
        }
    }

    /** Whether this platform can name files outside ASCII (a POSIX locale cannot). */
    public static boolean nonAsciiNamesWork(Path dir) {
        try {
            Path p = dir.resolve(Kind.NON_ASCII_NAME.fileName);
            return p.getFileName().toString().equals(Kind.NON_ASCII_NAME.fileName);
        } catch (InvalidPathException e) {
            return false;
        }
    }

    /**
     * A class-per-folder dataset: {@code good} plain images in each of {@code classes}, every kind
     * of {@link Kind} in the first class, a hidden .DS_Store and a symbolic link back up the tree
     * (loop -> ..) beside them, and an empty class folder "Empty".
     */
    public static Dataset dataset(Path root, List<String> classes, int good) {
        Dataset d = new Dataset(root, new ArrayList<>(), new ArrayList<>());
        for (int c = 0; c < classes.size(); c++) {
            for (int i = 0; i < good; i++) {
                d.valid().add(goodImage(root.resolve(classes.get(c)), "cell-" + i, c * 100 + i, c));
            }
        }
        Path first = root.resolve(classes.get(0));
        for (Kind k : Kind.values()) {
            (k.valid() ? d.valid() : d.invalid()).add(k.write(first));
        }
        hidden(first);
        loop(first);
        emptyClass(root, "Empty");
        return d;
    }

    /** What {@link #dataset} made: the files that must be used and those that must be skipped. */
    public record Dataset(Path root, List<Path> valid, List<Path> invalid) {}

    /**
     * A plain RGB image, PNG or JPEG by the seed's parity; its colour leans to one hue per class
     * so that a model has something to learn.
     */
    public static Path goodImage(Path dir, String stem, long seed, int cls) {
        BufferedImage img = noise(SIDE, seed);
        Graphics2D g = img.createGraphics();
        g.setColor(new Color(Color.HSBtoRGB(cls / 5f, 0.8f, 0.8f)));
        g.fillOval(SIDE / 4, SIDE / 4, SIDE / 2, SIDE / 2);
        g.dispose();
        boolean png = seed % 2 == 0;
        return write(img, png ? "png" : "jpg", dir.resolve(stem + (png ? ".png" : ".jpg")));
    }

    public static Path hidden(Path dir) {
        try {
            Files.createDirectories(dir);
            return Files.write(dir.resolve(".DS_Store"), new byte[] {0, 0, 0, 1, 'B', 'u', 'd', '1'});
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** dir/loop -> .. : a walk that followed links would never end. */
    public static Path loop(Path dir) {
        try {
            Files.createDirectories(dir);
            return Files.createSymbolicLink(dir.resolve("loop"), Path.of(".."));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path emptyClass(Path root, String name) {
        try {
            return Files.createDirectories(root.resolve(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // --- the files -------------------------------------------------------------------------------

    public static BufferedImage noise(int side, long seed) {
        BufferedImage img = new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB);
        Random r = new Random(seed);
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) {
                img.setRGB(x, y, r.nextInt() & 0xffffff);
            }
        }
        return img;
    }

    public static Path write(BufferedImage img, String format, Path file) {
        return org.wbctransfer.data.TestImages.write(img, format, file);
    }

    /** Opaque dark blue with a fully transparent left half (which must come out white). */
    static void alphaPng(Path f) {
        BufferedImage img = new BufferedImage(SIDE, SIDE, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < SIDE; y++) {
            for (int x = 0; x < SIDE; x++) {
                img.setRGB(x, y, x < SIDE / 2 ? 0x00000000 : 0xFF102080);
            }
        }
        write(img, "png", f);
    }

    /** A horizontal grey ramp, 8 or 16 bits per sample. */
    static void grayPng(Path f, boolean sixteen) {
        BufferedImage img = new BufferedImage(SIDE, SIDE, sixteen ? BufferedImage.TYPE_USHORT_GRAY : BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < SIDE; y++) {
            for (int x = 0; x < SIDE; x++) {
                int v = x * 255 / (SIDE - 1);
                img.getRaster().setSample(x, y, 0, sixteen ? v * 257 : v);
            }
        }
        write(img, "png", f);
    }

    /** 16 bits per channel RGB: pure green. */
    static void rgb16Png(Path f) {
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false,
                Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
        WritableRaster r = cm.createCompatibleWritableRaster(SIDE, SIDE);
        for (int y = 0; y < SIDE; y++) {
            for (int x = 0; x < SIDE; x++) {
                r.setPixel(x, y, new int[] {0, 65535, 0});
            }
        }
        write(new BufferedImage(cm, r, false, null), "png", f);
    }

    /**
     * A four-component JPEG with an Adobe APP14 marker, as Photoshop saves CMYK: the values are
     * stored inverted (255 = no ink). Left half red (no cyan, full magenta and yellow), right half
     * blue. {@code transform} 0 is plain CMYK; 1 (YCbCr) is invalid for four components and makes
     * ImageIO give up.
     */
    static void cmykJpeg(Path f, int transform) throws IOException {
        WritableRaster r = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, SIDE, SIDE, 4, null);
        for (int y = 0; y < SIDE; y++) {
            for (int x = 0; x < SIDE; x++) {
                r.setPixel(x, y, x < SIDE / 2 ? new int[] {255, 0, 0, 255} : new int[] {0, 0, 255, 255});
            }
        }
        ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
            w.setOutput(out);
            ImageWriteParam p = w.getDefaultWriteParam();
            p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(1f);
            w.write(null, new IIOImage(r, null, null), p);
        } finally {
            w.dispose();
        }
        byte[] b = bytes.toByteArray();
        // APP14 "Adobe": length 14, version 100, flags0, flags1, colour transform; right after SOI.
        byte[] app14 = {(byte) 0xFF, (byte) 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, (byte) transform};
        byte[] out = new byte[b.length + app14.length];
        System.arraycopy(b, 0, out, 0, 2);
        System.arraycopy(app14, 0, out, 2, app14.length);
        System.arraycopy(b, 2, out, 2 + app14.length, b.length - 2);
        Files.write(f, out);
    }

    /** The first half of a 64 px noise JPEG (noise does not compress, so half the scan is missing). */
    static void truncatedJpeg(Path f) throws IOException {
        Path whole = Files.createTempFile(f.getParent(), ".whole", ".jpg");
        write(noise(64, 3), "jpg", whole);
        byte[] b = Files.readAllBytes(whole);
        Files.delete(whole);
        Files.write(f, Arrays.copyOf(b, b.length / 2));
    }

    static void randomBytes(Path f) throws IOException {
        byte[] junk = new byte[2048];
        new Random(11).nextBytes(junk);
        junk[0] = 0; // no accidental JPEG/PNG/GIF/BMP magic
        Files.write(f, junk);
    }

    /** A valid 1x1 PNG whose header (CRC fixed up) claims 100000 x 100000 pixels. */
    static void bombPng(Path f) {
        org.wbctransfer.data.TestImages.pngClaiming(f, 100_000, 100_000);
    }

    // --- checks ----------------------------------------------------------------------------------

    /** Files under dir (any depth, links not followed) whose name says they are half-written. */
    public static List<Path> tempFiles(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> {
                String n = p.getFileName().toString();
                return n.endsWith(".tmp") || n.endsWith(".part") || n.startsWith(".tmp");
            }).toList();
        }
    }
}
