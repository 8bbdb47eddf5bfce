package org.wbctransfer.pretrain;

import org.wbctransfer.util.Warnings;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.wbctransfer.data.ImageDecoder;
import org.wbctransfer.data.ImageFolder;
import org.wbctransfer.util.Hashing;
import org.wbctransfer.util.UserException;

/**
 * Cell images with per-pixel masks (background, cytoplasm, nucleus), decoded once at the working
 * resolution and held in memory: a few hundred pairs are a few megabytes, so an on-disk cache
 * would save little.
 *
 * <p>Two layouts are read:
 * <ul>
 *   <li>wbc-seg: {@code <source>/images/X.png} with {@code <source>/masks/X.png}; the root is one
 *       source or a folder of sources (e.g. {@code wbc-seg/{tecom,cellavision}}).</li>
 *   <li>the seed study's: {@code <set>/train/mask/<Class>/<file>} with the image at
 *       {@code <set>/train/<Class>/<file>}; the root is {@code <set>} or {@code <set>/train}.</li>
 * </ul>
 * Masks are 8-bit grey: 0 background, 128 cytoplasm, 255 nucleus; other values are rounded to the
 * nearest of the three, since some published masks hold stray grey values from resampling.
 *
 * @param warnings one line per skipped file, naming it and why
 */
public record MaskDataset(Path root, int imageSize, List<Pair> pairs, List<String> warnings) {

    private static final Logger LOG = LoggerFactory.getLogger(MaskDataset.class);

    public static final int CLASSES = 3;
    public static final List<String> CLASS_NAMES = List.of("background", "cytoplasm", "nucleus");
    public static final String LAYOUT_HELP = "Expected <root>/<source>/images/<name>.png with"
            + " <root>/<source>/masks/<name>.png (e.g. ../shared/datasets/wbc-seg/{tecom,cellavision}),"
            + " one such <source> folder, or the study layout <set>/train/<Class>/<file> with"
            + " <set>/train/mask/<Class>/<file>; masks are 8-bit grey: 0 background, 128 cytoplasm, 255 nucleus.";

    private static final String STUDY_MASK_DIR = "mask";

    /**
     * One decoded pair.
     *
     * @param image image path relative to the root ('/'-separated)
     * @param mask mask path relative to the root
     * @param rgb interleaved RGB bytes (HWC), size x size
     * @param labels class index per pixel (0 background, 1 cytoplasm, 2 nucleus), row-major
     */
    public record Pair(String image, String mask, byte[] rgb, byte[] labels) {}

    public MaskDataset {
        pairs = List.copyOf(pairs);
        warnings = List.copyOf(warnings);
    }

    /** Finds, decodes and resizes every usable pair under root; skips (and warns about) the rest. */
    public static MaskDataset load(Path root, int size) throws IOException {
        if (!Files.isDirectory(root)) {
            throw new UserException(root + ": mask folder not found. " + LAYOUT_HELP);
        }
        List<String[]> candidates = new ArrayList<>(); // {image, mask} relative to root
        List<String> warnings = new ArrayList<>();
        if (isSource(root)) {
            scanSource(root, "", candidates, warnings);
        } else if (Files.isDirectory(root.resolve("train").resolve(STUDY_MASK_DIR))) {
            scanStudy(root, "train/", candidates, warnings);
        } else if (Files.isDirectory(root.resolve(STUDY_MASK_DIR))) {
            scanStudy(root, "", candidates, warnings);
        } else {
            for (Path dir : ImageFolder.sortedChildren(root)) {
                if (Files.isDirectory(dir) && isSource(dir)) {
                    scanSource(root, dir.getFileName() + "/", candidates, warnings);
                }
            }
        }
        List<Pair> pairs = new ArrayList<>();
        for (String[] c : candidates) {
            try {
                pairs.add(decode(root, c[0], c[1], size));
            } catch (ImageDecoder.BadImageException e) {
                warn(warnings, "skipped " + root.resolve(c[0]) + ": " + e.getMessage());
            }
        }
        if (pairs.isEmpty()) {
            throw new UserException(root + ": no usable image/mask pairs found. " + LAYOUT_HELP);
        }
        LOG.info("{}: {} image/mask pairs at {} px ({} files skipped)", root, pairs.size(), size, warnings.size());
        return new MaskDataset(root, size, pairs, warnings);
    }

    private static boolean isSource(Path dir) {
        return Files.isDirectory(dir.resolve("images")) && Files.isDirectory(dir.resolve("masks"));
    }

    private static void scanSource(Path root, String prefix, List<String[]> out, List<String> warnings) {
        Path src = root.resolve(prefix.isEmpty() ? "." : prefix).normalize();
        for (Path img : ImageFolder.sortedChildren(src.resolve("images"))) {
            String fn = img.getFileName().toString();
            if (!isImageFile(img)) {
                continue;
            }
            Path mask = findMask(src.resolve("masks"), fn);
            if (mask == null) {
                warn(warnings, "skipped " + img + ": no mask " + src.resolve("masks").resolve(fn));
                continue;
            }
            out.add(new String[] {prefix + "images/" + fn, prefix + "masks/" + mask.getFileName()});
        }
    }

    /**
     * In the study layout only a minority of images has a mask, so the scan starts from the masks:
     * an image without a mask is the normal case there, not something to warn about.
     */
    private static void scanStudy(Path root, String prefix, List<String[]> out, List<String> warnings) {
        Path base = root.resolve(prefix.isEmpty() ? "." : prefix).normalize();
        for (Path clsDir : ImageFolder.sortedChildren(base.resolve(STUDY_MASK_DIR))) {
            String cls = clsDir.getFileName().toString();
            if (cls.startsWith(".") || !Files.isDirectory(clsDir)) {
                continue;
            }
            for (Path mask : ImageFolder.sortedChildren(clsDir)) {
                if (!isImageFile(mask)) {
                    continue;
                }
                String fn = mask.getFileName().toString();
                Path img = base.resolve(cls).resolve(fn);
                if (!Files.isRegularFile(img)) {
                    warn(warnings, "skipped " + mask + ": no image " + img + " for this mask");
                    continue;
                }
                out.add(new String[] {prefix + cls + "/" + fn, prefix + STUDY_MASK_DIR + "/" + cls + "/" + fn});
            }
        }
    }

    /** The mask of X.ext is masks/X.ext, or masks/X.png when images were kept as JPEG but masks as PNG. */
    private static Path findMask(Path masks, String imageName) {
        Path same = masks.resolve(imageName);
        if (Files.isRegularFile(same)) {
            return same;
        }
        int dot = imageName.lastIndexOf('.');
        Path png = masks.resolve((dot < 0 ? imageName : imageName.substring(0, dot)) + ".png");
        return Files.isRegularFile(png) ? png : null;
    }

    private static boolean isImageFile(Path f) {
        String fn = f.getFileName().toString();
        return !fn.startsWith(".") && Files.isRegularFile(f) && ImageFolder.IMAGE_EXTENSIONS.contains(ImageFolder.extension(fn));
    }

    private static void warn(List<String> warnings, String msg) {
        Warnings.warn(msg);
        warnings.add(msg);
    }

    static Pair decode(Path root, String image, String mask, int size) throws ImageDecoder.BadImageException {
        BufferedImage img = ImageDecoder.read(root.resolve(image));
        BufferedImage m;
        try {
            m = ImageDecoder.read(root.resolve(mask));
        } catch (ImageDecoder.BadImageException e) {
            throw new ImageDecoder.BadImageException("mask " + root.resolve(mask) + ": " + e.getMessage());
        }
        if (img.getWidth() != m.getWidth() || img.getHeight() != m.getHeight()) {
            throw new ImageDecoder.BadImageException("image is " + img.getWidth() + "x" + img.getHeight() + " but mask "
                    + root.resolve(mask) + " is " + m.getWidth() + "x" + m.getHeight());
        }
        byte[] rgb = ImageDecoder.toRgb(ImageDecoder.resizeSquare(img, size));
        return new Pair(image, mask, rgb, labels(m, size));
    }

    /**
     * Class indices of a mask at size x size: centre square crop exactly as
     * {@link ImageDecoder#resizeSquare} crops the image, then nearest-neighbour resampling, since
     * interpolating class codes would invent classes along every boundary.
     */
    static byte[] labels(BufferedImage mask, int size) {
        int w = mask.getWidth();
        int h = mask.getHeight();
        int side = Math.min(w, h);
        int x0 = (w - side) / 2;
        int y0 = (h - side) / 2;
        int[] grey = grey(mask);
        byte[] out = new byte[size * size];
        for (int y = 0; y < size; y++) {
            int sy = y0 + Math.min(side - 1, (int) ((y + 0.5) * side / size));
            for (int x = 0; x < size; x++) {
                int sx = x0 + Math.min(side - 1, (int) ((x + 0.5) * side / size));
                out[y * size + x] = (byte) level(grey[sy * w + sx]);
            }
        }
        return out;
    }

    /** Nearest of the levels 0, 128, 255: below 64 background, 64..191 cytoplasm, above nucleus. */
    static int level(int grey) {
        return grey < 64 ? 0 : (grey < 192 ? 1 : 2);
    }

    /**
     * Grey values 0..255 as stored. A grey PNG's raster is read directly: {@code getRGB} would run
     * it through a linear-to-sRGB conversion and move 128 to about 186. Colour or palette masks
     * fall back to the mean of R, G and B.
     */
    static int[] grey(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        Raster r = img.getRaster();
        int[] out = new int[w * h];
        if (r.getNumBands() == 1 && !(img.getColorModel() instanceof IndexColorModel)) {
            int bits = img.getColorModel().getComponentSize(0);
            r.getSamples(0, 0, w, h, 0, out);
            if (bits > 8) {
                for (int i = 0; i < out.length; i++) {
                    out[i] >>= bits - 8;
                }
            } else if (bits < 8) {
                int max = (1 << bits) - 1;
                for (int i = 0; i < out.length; i++) {
                    out[i] = out[i] * 255 / max;
                }
            }
            return out;
        }
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < argb.length; i++) {
            int p = argb[i];
            out[i] = (((p >> 16) & 0xff) + ((p >> 8) & 0xff) + (p & 0xff)) / 3;
        }
        return out;
    }

    public int size() {
        return pairs.size();
    }

    /** Hash of a pair list (image and mask paths): ties a bundle to the pairs it trained on. */
    public static String hash(List<Pair> pairs) {
        StringBuilder sb = new StringBuilder();
        pairs.forEach(p -> sb.append(p.image()).append('\t').append(p.mask()).append('\n'));
        return Hashing.sha256(sb.toString());
    }
}
