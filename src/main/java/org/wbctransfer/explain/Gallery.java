package org.wbctransfer.explain;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import javax.imageio.ImageIO;
import org.wbctransfer.data.ImageDecoder;
import org.wbctransfer.data.ImageFolder;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelInput;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Html;
import org.wbctransfer.util.Png;
import org.wbctransfer.util.UserException;

/**
 * A page of Grad-CAM overlays for a labelled folder (class folders, or the wbc-seg layout): the
 * first few images of each class by file name, so that nobody picks the flattering ones. Each
 * shows what the model saw, its map for the predicted class, the label and the prediction; on
 * images with a cell mask ({@code masks/} beside {@code images/}, as in wbc-seg) also the share of
 * the map on the cell, measured as {@link MaskStudy} does. The folder is written whole or not at all.
 */
public final class Gallery {

    /** The file the page's figures are also written to, one row per image. */
    public static final String CSV = "gallery.csv";
    public static final String PAGE = "index.html";

    private Gallery() {}

    /**
     * One image of the page. {@code inMask} and {@code cellArea} are null without a mask (or for a
     * cell-crop model, whose input is not the image the mask was drawn on); {@code inMask} is NaN
     * for an empty map.
     */
    public record Entry(String image, String label, String predicted, double pPredicted, double pLabel,
            boolean emptyMap, Double inMask, Double cellArea, String input, String overlay) {

        public boolean correct() {
            return label.equals(predicted);
        }
    }

    /** The page's entries, written to {@code out} (which must not exist yet) with the overlays, the CSV and the page. */
    public static List<Entry> write(Classifier c, Path folder, int perClass, GradCam.Layer layer, int size, Path out,
            Consumer<String> warn) throws IOException {
        if (Files.exists(out)) {
            throw new UserException(out + ": already exists; name a new folder for the gallery");
        }
        ImageFolder f = ImageFolder.scanEither(folder, false);
        ModelInput input = c.input();
        List<String> classes = c.metadata().classes();
        Map<Integer, List<ImageFolder.Item>> chosen = new java.util.TreeMap<>();
        java.util.Set<String> unknown = new java.util.TreeSet<>();
        List<ImageFolder.Item> byName = new ArrayList<>(f.items());
        byName.sort(java.util.Comparator.comparing(ImageFolder.Item::relativePath));
        for (ImageFolder.Item it : byName) {
            int k = c.metadata().classIndex(it.className());
            if (k < 0) {
                unknown.add(it.className());
                continue;
            }
            List<ImageFolder.Item> list = chosen.computeIfAbsent(k, x -> new ArrayList<>());
            if (list.size() < perClass) {
                list.add(it);
            }
        }
        for (String u : unknown) {
            warn.accept(folder + ": class '" + u + "' is not one of the model's " + classes + "; its images are left out");
        }
        if (chosen.isEmpty()) {
            throw new UserException(folder + ": no image of a class the model knows");
        }
        // Masks are drawn over the whole image; a cell-crop model sees a crop of it.
        Path masks = ImageFolder.isLabelledList(folder) && c.cellCrop() == null ? folder.resolve("masks") : null;

        List<Entry> entries = new ArrayList<>();
        AtomicFiles.writeFolder(out, tmp -> {
            float[] x = new float[input.floats()];
            for (Map.Entry<Integer, List<ImageFolder.Item>> e : chosen.entrySet()) {
                String label = classes.get(e.getKey());
                int n = 0;
                for (ImageFolder.Item it : e.getValue()) {
                    n++;
                    Path file = folder.resolve(it.relativePath());
                    BufferedImage framed;
                    try {
                        framed = input.frame(ImageDecoder.read(file, Math.max(size, input.size())));
                    } catch (ImageDecoder.BadImageException ex) {
                        warn.accept(file + ": " + ex.getMessage() + "; left out");
                        continue;
                    }
                    input.normalizeFramed(framed, x, 0);
                    GradCam.Result r = GradCam.compute(c, x, -1, layer);
                    int predicted = r.targetClass();
                    String stem = String.format(Locale.ROOT, "%s-%02d", label.toLowerCase(Locale.ROOT), n);
                    Files.write(tmp.resolve(stem + "-input.png"), Png.bytes(ImageDecoder.resizeSquare(framed, size)));
                    Files.write(tmp.resolve(stem + "-gradcam.png"), Png.bytes(Overlay.over(framed, r, size)));
                    Double inMask = null;
                    Double area = null;
                    Path mask = masks == null ? null : masks.resolve(Path.of(it.relativePath()).getFileName().toString());
                    if (mask != null && Files.isRegularFile(mask)) {
                        BufferedImage m = ImageIO.read(mask.toFile());
                        if (m != null) {
                            double[] cover = MaskStudy.coverage(m, input.size());
                            inMask = MaskStudy.inMaskFraction(r.upsampled(input.size()), cover);
                            area = MaskStudy.areaFraction(cover);
                        }
                    }
                    entries.add(new Entry(it.relativePath(), label, classes.get(predicted),
                            r.probabilities()[predicted], r.probabilities()[e.getKey()], r.empty(),
                            inMask, area, stem + "-input.png", stem + "-gradcam.png"));
                }
            }
            Files.writeString(tmp.resolve(CSV), csv(entries));
            Files.writeString(tmp.resolve(PAGE), page(c, folder, layer, size, perClass, entries));
        });
        return entries;
    }

    static String csv(List<Entry> entries) {
        StringBuilder sb = new StringBuilder("image,label,predicted,p_predicted,p_label,correct,map_empty,in_mask,cell_area,input,overlay\n");
        for (Entry e : entries) {
            sb.append(String.format(Locale.ROOT, "%s,%s,%s,%.4f,%.4f,%s,%s,%s,%s,%s,%s%n", quote(e.image()), e.label(),
                    e.predicted(), e.pPredicted(), e.pLabel(), e.correct(), e.emptyMap(), fraction(e.inMask()),
                    fraction(e.cellArea()), e.input(), e.overlay()));
        }
        return sb.toString();
    }

    private static String page(Classifier c, Path folder, GradCam.Layer layer, int size, int perClass,
            List<Entry> entries) {
        long right = entries.stream().filter(Entry::correct).count();
        StringBuilder sb = new StringBuilder();
        sb.append("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Grad-CAM: ")
                .append(Html.escape(folder.getFileName().toString())).append("</title>\n<style>")
                .append("body{font-family:sans-serif;margin:1.5em;color:#222}")
                .append(".grid{display:flex;flex-wrap:wrap;gap:12px}")
                .append("figure{margin:0;padding:6px;border:2px solid #ccc;border-radius:4px;font-size:13px}")
                .append("figure.right{border-color:#3a3}figure.wrong{border-color:#c33}")
                .append("img{width:").append(Math.min(size, 160)).append("px;image-rendering:auto}")
                .append("</style></head><body>\n<h1>Grad-CAM on ").append(Html.escape(folder.toString())).append("</h1>\n<p>")
                .append("The first ").append(perClass).append(" images of each class by file name (none chosen by its"
                        + " result). Left: what the model saw; right: its Grad-CAM map for the predicted class (")
                .append(Html.escape(layer.resolution(c.input().size())))
                .append("). Green frame: predicted as labelled (")
                .append(right).append(" of ").append(entries.size()).append(").")
                .append(c.cellCrop() != null ? " The model frames the cell it finds before it reads the image." : "")
                .append("</p>\n<div class=\"grid\">\n");
        for (Entry e : entries) {
            sb.append("<figure class=\"").append(e.correct() ? "right" : "wrong").append("\"><img src=\"")
                    .append(e.input()).append("\" alt=\"input\"> <img src=\"").append(e.overlay())
                    .append("\" alt=\"Grad-CAM\"><figcaption>").append(Html.escape(e.image())).append("<br>label ")
                    .append(e.label()).append(" (p ").append(String.format(Locale.ROOT, "%.2f", e.pLabel()))
                    .append("), predicted <b>").append(e.predicted()).append("</b> (p ")
                    .append(String.format(Locale.ROOT, "%.2f", e.pPredicted())).append(")");
            if (e.emptyMap()) {
                sb.append("<br>empty map");
            } else if (e.inMask() != null) {
                sb.append(String.format(Locale.ROOT, "<br>map on the cell %.2f (the cell covers %.2f)", e.inMask(),
                        e.cellArea()));
            }
            sb.append("</figcaption></figure>\n");
        }
        return sb.append("</div>\n</body></html>\n").toString();
    }

    private static String fraction(Double v) {
        return v == null || v.isNaN() ? "" : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String quote(String s) {
        return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }
}
