package org.wbctransfer.explain;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.wbctransfer.data.ImageDecoder;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelInput;

/**
 * How well a Grad-CAM map localises the cell: on images with a segmentation mask (the wbc-seg
 * layout, {@code images/NNN.png}, {@code masks/NNN.png} with 0 background, 128 cytoplasm, 255
 * nucleus, and {@code labels.csv}), the share of the map's mass that falls on the cell (nucleus and
 * cytoplasm). The mask goes through the model's own geometry (centre square, resized to the input
 * side) so it lies where the map does; a uniform map scores the cell's area fraction.
 */
public final class MaskStudy {

    private MaskStudy() {}

    /** One image's figures: the mask's area fraction and, per layer choice, the in-mask fraction of the map. */
    public record ImageResult(String image, String label, String predicted, double areaFraction,
            Map<GradCam.Layer, Double> inMask, Map<GradCam.Layer, Boolean> peakInMask) {}

    /**
     * The fraction of each input pixel that lies on the cell: the mask's centre square (cropped as
     * {@link ImageDecoder#resizeSquare} crops) averaged over the area each of size x size pixels covers.
     */
    public static double[] coverage(BufferedImage mask, int size) {
        int w = mask.getWidth();
        int h = mask.getHeight();
        int side = Math.min(w, h);
        int x0 = (w - side) / 2;
        int y0 = (h - side) / 2;
        double[] cell = new double[side * side];
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) {
                cell[y * side + x] = level(mask, x0 + x, y0 + y) > 0 ? 1 : 0;
            }
        }
        return areaResample(cell, side, size);
    }

    /** Area-weighted resampling of a side x side map to size x size (each output pixel's footprint, exactly). */
    static double[] areaResample(double[] map, int side, int size) {
        double scale = (double) side / size;
        double[] out = new double[size * size];
        for (int oy = 0; oy < size; oy++) {
            double ya = oy * scale;
            double yb = (oy + 1) * scale;
            for (int ox = 0; ox < size; ox++) {
                double xa = ox * scale;
                double xb = (ox + 1) * scale;
                double sum = 0;
                for (int y = (int) ya; y < Math.min(side, Math.ceil(yb)); y++) {
                    double wy = Math.min(yb, y + 1) - Math.max(ya, y);
                    for (int x = (int) xa; x < Math.min(side, Math.ceil(xb)); x++) {
                        double wx = Math.min(xb, x + 1) - Math.max(xa, x);
                        sum += wy * wx * map[y * side + x];
                    }
                }
                out[oy * size + ox] = sum / (scale * scale);
            }
        }
        return out;
    }

    /** A mask pixel's level rounded to 0, 128 or 255 (a few masks hold stray grey values near them). */
    static int level(BufferedImage mask, int x, int y) {
        int v;
        if (mask.getColorModel() instanceof IndexColorModel || mask.getRaster().getNumBands() >= 3) {
            v = (mask.getRGB(x, y) >> 16) & 0xff;
        } else {
            // The raw sample: getRGB would pass a grey image through a colour-space conversion.
            int bits = mask.getColorModel().getComponentSize(0);
            v = mask.getRaster().getSample(x, y, 0) >> Math.max(0, bits - 8);
        }
        return v < 64 ? 0 : v < 192 ? 128 : 255;
    }

    /** Sum of the map over the cell (weighted by coverage) divided by the map's total; NaN for an all-zero map. */
    public static double inMaskFraction(float[] heat, double[] coverage) {
        if (heat.length != coverage.length) {
            throw new IllegalArgumentException("map and mask disagree: " + heat.length + " vs " + coverage.length);
        }
        double in = 0;
        double all = 0;
        for (int i = 0; i < heat.length; i++) {
            in += heat[i] * coverage[i];
            all += heat[i];
        }
        return all > 0 ? in / all : Double.NaN;
    }

    /** The cell's share of the input: what a uniform map's in-mask fraction is. */
    public static double areaFraction(double[] coverage) {
        double s = 0;
        for (double c : coverage) {
            s += c;
        }
        return s / coverage.length;
    }

    /**
     * Whether the map's hottest pixels lie mostly on the cell (the "pointing game"): the mean
     * coverage of every pixel at the maximum is at least one half. All of them, not the first: an
     * upsampled 2x2 map is flat over whole corners.
     */
    public static boolean peakInMask(float[] heat, double[] coverage) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : heat) {
            max = Math.max(max, v);
        }
        double on = 0;
        int n = 0;
        for (int i = 0; i < heat.length; i++) {
            if (heat[i] == max) {
                on += coverage[i];
                n++;
            }
        }
        return on / n >= 0.5;
    }

    /** Runs every layer choice on every labelled image of one wbc-seg source, for the predicted class. */
    public static List<ImageResult> run(Classifier classifier, Path source, List<GradCam.Layer> layers,
            java.util.function.BiConsumer<Integer, Integer> progress)
            throws IOException, ImageDecoder.BadImageException {
        if (classifier.cellCrop() != null) {
            // Its masks are drawn over the whole image, not over a crop of it.
            throw new org.wbctransfer.util.UserException("the Grad-CAM mask study needs a model that sees the centre"
                    + " square; this one was trained on cell-centred crops");
        }
        ModelInput input = classifier.input();
        int size = input.size();
        List<ImageResult> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(source.resolve("labels.csv"));
        float[] x = new float[input.floats()];
        for (String line : lines.subList(1, lines.size())) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split(",", 2);
            String name = f[0].strip();
            BufferedImage mask = ImageIO.read(source.resolve("masks").resolve(name).toFile());
            if (mask == null) {
                throw new IOException(source.resolve("masks").resolve(name) + ": not a readable mask");
            }
            input.normalize(ImageDecoder.read(source.resolve("images").resolve(name), size), x);
            double[] cover = coverage(mask, size);
            Map<GradCam.Layer, Double> inMask = new LinkedHashMap<>();
            Map<GradCam.Layer, Boolean> peak = new LinkedHashMap<>();
            // Each stage once; a combination reuses its stages' maps (the predicted class is the same for all).
            Map<Integer, GradCam.Result> stages = new java.util.TreeMap<>();
            int predicted = -1;
            for (GradCam.Layer layer : layers) {
                List<GradCam.Result> parts = new ArrayList<>();
                for (int st : layer.stages()) {
                    parts.add(stages.computeIfAbsent(st, k -> GradCam.compute(classifier, x, -1, GradCam.single(k))));
                }
                GradCam.Result r = layer.combined() ? GradCam.combined(layer, parts) : parts.get(0);
                predicted = r.targetClass();
                float[] heat = r.upsampled(size);
                inMask.put(layer, inMaskFraction(heat, cover));
                peak.put(layer, peakInMask(heat, cover));
            }
            if (progress != null) {
                progress.accept(out.size() + 1, lines.size() - 1);
            }
            out.add(new ImageResult(name, f.length > 1 ? f[1].strip() : "",
                    classifier.metadata().classes().get(predicted), areaFraction(cover), inMask, peak));
        }
        return out;
    }
}
