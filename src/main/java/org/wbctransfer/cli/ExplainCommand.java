package org.wbctransfer.cli;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.wbctransfer.data.ImageDecoder;
import org.wbctransfer.explain.Gallery;
import org.wbctransfer.explain.GradCam;
import org.wbctransfer.explain.Overlay;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelInput;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Png;
import org.wbctransfer.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code wbc explain}: a Grad-CAM heat map of what the model looked at in one image. */
@Command(name = "explain", mixinStandardHelpOptions = true,
        description = "Grad-CAM (by default on layer2: an 8x8 map at 64 px, upsampled; see --layer): writes a PNG of the"
                + " heat map over the image (centre square, as the model sees it) and prints the class scores. Given a"
                + " labelled folder (class folders, or images/ + labels.csv as in wbc-seg), writes a gallery folder"
                + " instead: the first --per-class images of each class by file name, each beside its map, in"
                + " index.html, with gallery.csv (label, prediction and, where the folder has cell masks, the share"
                + " of the map on the cell).")
public final class ExplainCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "Model bundle (from 'wbc export') or run directory")
    Path model;

    @Parameters(index = "1", description = "Image file, or a labelled folder for a gallery")
    Path image;

    @Option(names = {"-o", "--out"}, description = "Overlay image, .png or .jpg. Default: <image name>-gradcam.png in the"
            + " current folder. For a folder: the gallery folder, which must not exist. Default: <folder name>-gradcam")
    Path out;

    @Option(names = "--per-class", defaultValue = "3", description = "Images of each class in a gallery. Default: ${DEFAULT-VALUE}")
    int perClass;

    @Option(names = "--class", description = "Class to explain. Default: the predicted class")
    String className;

    @Option(names = "--layer", description = "Stage the map is computed on: layer2, layer3, layer4, mean34 or"
            + " product34 (layer3 and layer4 maps upsampled, then averaged or multiplied). Default: layer2, whose map puts"
            + " the most of its mass on the cell (docs/gradcam)")
    String layer;

    @Option(names = "--size", defaultValue = "256", description = "Side of the overlay in pixels. Default: ${DEFAULT-VALUE}")
    int size;

    @Override
    public Integer call() throws Exception {
        if (size < 16 || size > 4096) {
            throw new UserException("--size must be 16..4096, got " + size);
        }
        GradCam.Layer camLayer;
        try {
            camLayer = layer == null ? GradCam.DEFAULT : GradCam.Layer.parse(layer);
        } catch (IllegalArgumentException e) {
            throw new UserException("--layer: " + e.getMessage());
        }
        if (!Files.exists(image)) {
            throw new UserException(image + ": " + org.wbctransfer.data.ImageFolder.whyMissing(image));
        }
        if (Files.isDirectory(image)) {
            return gallery(camLayer);
        }
        OutFile.check(out, "explain --out");
        String format = out == null ? "png" : imageFormat(out);
        if (!Files.isRegularFile(image)) {
            throw new UserException(image + ": not a file");
        }
        try (Classifier c = ModelDirs.load(model)) {
            List<String> classes = c.metadata().classes();
            int target = -1;
            if (className != null) {
                target = c.metadata().classIndex(className);
                if (target < 0) {
                    throw new UserException("--class " + className + ": not one of the model's classes " + classes);
                }
            }
            BufferedImage original;
            try {
                original = ImageDecoder.read(image, Math.max(size, c.metadata().imageSize()));
            } catch (ImageDecoder.BadImageException e) {
                throw new UserException(image + ": " + e.getMessage());
            }
            ModelInput input = c.input();
            float[] x = new float[input.floats()];
            BufferedImage framed = input.frame(original); // the file is decoded once, for the input and the overlay
            input.normalizeFramed(framed, x, 0);
            GradCam.Result r = GradCam.compute(c, x, target, camLayer);
            BufferedImage overlay = Overlay.over(framed, r, size);
            Path o = out != null ? out : Path.of(stem(image.getFileName().toString()) + "-gradcam.png");
            AtomicFiles.writeBytes(o, format.equals("png") ? Png.bytes(overlay) : jpeg(overlay));
            int predicted = Classifier.argMax(r.probabilities());
            System.out.printf(Locale.ROOT, "%s: predicted %s (%s); Grad-CAM for %s (%s to %d px)%n", image,
                    classes.get(predicted), PredictCommand.format(r.probabilities()[predicted]),
                    classes.get(r.targetClass()), r.resolution(), size);
            if (r.empty()) {
                System.err.println("note: the map is empty: nothing at " + r.layer().key() + " raises the score of "
                        + classes.get(r.targetClass()) + "; --layer layer3 or layer4 may show more");
            }
            List<Integer> order = new ArrayList<>();
            for (int k = 0; k < classes.size(); k++) {
                order.add(k);
            }
            order.sort(Comparator.comparingDouble((Integer k) -> r.probabilities()[k]).reversed());
            int width = classes.stream().mapToInt(String::length).max().orElse(5);
            for (int k : order) {
                System.out.printf(Locale.ROOT, "  %-" + width + "s  %s%n", classes.get(k),
                        PredictCommand.format(r.probabilities()[k]));
            }
            System.out.println("overlay written to " + o);
        }
        return 0;
    }

    private int gallery(GradCam.Layer camLayer) throws java.io.IOException {
        if (className != null) {
            throw new UserException("--class explains one image; a gallery shows each image's predicted class");
        }
        if (perClass < 1 || perClass > 100) {
            throw new UserException("--per-class must be 1..100, got " + perClass);
        }
        Path dir = out != null ? out : Path.of(image.toAbsolutePath().normalize().getFileName() + "-gradcam");
        if (Files.exists(dir)) { // before the model loads: a typo costs nothing
            throw new UserException(dir + ": already exists; name a new folder for the gallery");
        }
        try (Classifier c = ModelDirs.load(model)) {
            List<Gallery.Entry> entries = Gallery.write(c, image, perClass, camLayer, size, dir,
                    w -> System.err.println("warning: " + w));
            long right = entries.stream().filter(Gallery.Entry::correct).count();
            System.out.printf(Locale.ROOT, "%s: %d images, %d predicted as labelled; Grad-CAM for the predicted class"
                    + " (%s to %d px)%n", image, entries.size(), right, camLayer.resolution(c.input().size()), size);
            List<Gallery.Entry> onMask = entries.stream().filter(e -> e.inMask() != null && !e.inMask().isNaN()).toList();
            if (!onMask.isEmpty()) {
                System.out.printf(Locale.ROOT, "  map on the cell: mean %.3f over %d images with a mask and a map"
                        + " (the cell covers %.3f of the input on average)%n",
                        onMask.stream().mapToDouble(Gallery.Entry::inMask).average().orElseThrow(), onMask.size(),
                        onMask.stream().mapToDouble(Gallery.Entry::cellArea).average().orElseThrow());
            }
            System.out.println("gallery written to " + dir.resolve(Gallery.PAGE));
        }
        return 0;
    }

    /** The overlay's format by --out's extension: PNG, or JPEG; anything else is refused up front. */
    private static String imageFormat(Path out) {
        String ext = org.wbctransfer.data.ImageFolder.extension(out.getFileName().toString());
        return switch (ext) {
            case "png" -> "png";
            case "jpg", "jpeg" -> "jpeg";
            default -> throw new UserException(out + ": the overlay is written as PNG (.png) or JPEG (.jpg, .jpeg), not '"
                    + (ext.isEmpty() ? "no extension" : "." + ext) + "'");
        };
    }

    /** JPEG at quality 0.92: the overlay's heat map has no hard edges that would ring. */
    static byte[] jpeg(BufferedImage img) throws java.io.IOException {
        javax.imageio.ImageWriter w = javax.imageio.ImageIO.getImageWritersByFormatName("jpeg").next();
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (javax.imageio.stream.ImageOutputStream o = javax.imageio.ImageIO.createImageOutputStream(bytes)) {
            w.setOutput(o);
            javax.imageio.ImageWriteParam p = w.getDefaultWriteParam();
            p.setCompressionMode(javax.imageio.ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(0.92f);
            w.write(null, new javax.imageio.IIOImage(img, null, null), p);
        } finally {
            w.dispose();
        }
        return bytes.toByteArray();
    }

    private static String stem(String name) {
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }
}
