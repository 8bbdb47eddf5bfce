package org.wbctransfer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.wbctransfer.explain.GradCam;
import org.wbctransfer.explain.MaskStudy;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code wbc gradcam-study}: how much of each Grad-CAM layer choice's heat lies on the cell, on
 * images with segmentation masks, to choose the layer {@code wbc explain} and serve draw.
 */
@Command(name = "gradcam-study", mixinStandardHelpOptions = true,
        description = "Measure how well Grad-CAM localises the cell: on wbc-seg folders (images/, masks/ with 0"
                + " background, 128 cytoplasm, 255 nucleus, labels.csv), for the predicted class and each --layer,"
                + " the share of the map's mass on the cell (mask through the model's centre-square crop and resize),"
                + " beside the cell's area fraction (what a uniform map scores). Writes JSON and a per-image CSV.")
public final class GradCamStudyCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "Model bundle (from 'wbc export') or run directory")
    Path model;

    @Parameters(index = "1..*", description = "wbc-seg source folders (each with images/, masks/, labels.csv)")
    List<Path> sources;

    @Option(names = "--layer", split = ",", description = "Layer choices to measure. Default: all")
    List<String> layerNames;

    @Option(names = {"-o", "--out"}, required = true, description = "JSON file for the figures; the per-image CSV"
            + " is written beside it (same name, .csv)")
    Path out;

    @Override
    public Integer call() throws Exception {
        OutFile.check(out, "gradcam-study --out");
        List<GradCam.Layer> layers = new ArrayList<>();
        for (String n : layerNames == null ? List.<String>of() : layerNames) {
            try {
                layers.add(GradCam.Layer.parse(n));
            } catch (IllegalArgumentException e) {
                throw new UserException("--layer: " + e.getMessage());
            }
        }
        if (layers.isEmpty()) {
            layers.addAll(List.of(GradCam.Layer.values()));
        }
        for (Path s : sources) {
            if (!Files.isRegularFile(s.resolve("labels.csv")) || !Files.isDirectory(s.resolve("masks"))) {
                throw new UserException(s + ": not a wbc-seg folder (images/, masks/, labels.csv)");
            }
        }
        try (Classifier c = ModelDirs.load(model)) {
            int size = c.metadata().imageSize();
            Map<String, List<MaskStudy.ImageResult>> bySource = new LinkedHashMap<>();
            for (Path s : sources) {
                bySource.put(s.getFileName().toString(), MaskStudy.run(c, s, layers, (i, n) -> {
                    if (i % 50 == 0 || i == n) {
                        System.err.printf(Locale.ROOT, "%s: %d/%d%n", s.getFileName(), i, n);
                    }
                }));
            }
            List<MaskStudy.ImageResult> all = new ArrayList<>();
            bySource.values().forEach(all::addAll);
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("model", model.toString());
            doc.put("inputSize", size);
            doc.put("class", "predicted");
            doc.put("measure", "inMask = sum of the upsampled map over cell pixels (nucleus + cytoplasm, mask through"
                    + " the centre-square crop and resize, area-weighted) / sum of the map; areaFraction = the cell's"
                    + " share of the input (a uniform map's inMask); means over the images whose map is not empty"
                    + " (emptyMaps: all zero after the ReLU), inMaskEmptyAsUniform counts those as uniform maps;"
                    + " peakInMask = the map's hottest pixels lie mostly (mean coverage >= 0.5) on the cell");
            Map<String, Object> layerInfo = new LinkedHashMap<>();
            for (GradCam.Layer l : layers) {
                layerInfo.put(l.key(), l.resolution(size));
            }
            doc.put("layers", layerInfo);
            Map<String, Object> groups = new LinkedHashMap<>();
            for (Map.Entry<String, List<MaskStudy.ImageResult>> e : bySource.entrySet()) {
                groups.put(e.getKey(), summary(e.getValue(), layers));
            }
            groups.put("overall", summary(all, layers));
            doc.put("results", groups);
            Json.write(out, doc);
            Path csv = out.resolveSibling(stem(out.getFileName().toString()) + ".csv");
            AtomicFiles.writeString(csv, csv(bySource, layers));

            System.out.printf(Locale.ROOT, "%-10s %12s", "layer", "map");
            for (String g : groups.keySet()) {
                System.out.printf(Locale.ROOT, " %12s", g);
            }
            System.out.println();
            printRow("mask area", "", groups, g -> g.get("areaFraction"));
            for (GradCam.Layer l : layers) {
                String grid = l.resolution(size).replaceAll(".*, (\\S+( and \\S+)?) maps? at.*", "$1");
                printRow(l.key(), grid, groups, g -> ((Map<?, ?>) ((Map<?, ?>) g.get("layers")).get(l.key())).get("inMask"));
            }
            System.out.println("written: " + out + ", " + csv);
        }
        return 0;
    }

    private static void printRow(String name, String grid, Map<String, Object> groups,
            java.util.function.Function<Map<?, ?>, Object> value) {
        System.out.printf(Locale.ROOT, "%-10s %12s", name, grid);
        for (Object g : groups.values()) {
            System.out.printf(Locale.ROOT, " %12.4f", (Double) value.apply((Map<?, ?>) g));
        }
        System.out.println();
    }

    static Map<String, Object> summary(List<MaskStudy.ImageResult> rs, List<GradCam.Layer> layers) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("images", rs.size());
        long agree = rs.stream().filter(r -> r.predicted().equalsIgnoreCase(r.label())).count();
        m.put("predictedEqualsLabel", (double) agree / rs.size());
        m.put("areaFraction", mean(rs.stream().mapToDouble(MaskStudy.ImageResult::areaFraction).toArray()));
        Map<String, Object> per = new LinkedHashMap<>();
        for (GradCam.Layer l : layers) {
            double[] in = rs.stream().mapToDouble(r -> r.inMask().get(l)).filter(v -> !Double.isNaN(v)).toArray();
            double[] lift = rs.stream().filter(r -> !Double.isNaN(r.inMask().get(l)))
                    .mapToDouble(r -> r.inMask().get(l) / r.areaFraction()).toArray();
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("inMask", mean(in));
            // An empty map (no positive evidence at that layer) explains nothing: scored as a uniform map.
            row.put("inMaskEmptyAsUniform", mean(rs.stream().mapToDouble(r -> Double.isNaN(r.inMask().get(l))
                    ? r.areaFraction() : r.inMask().get(l)).toArray()));
            row.put("inMaskOverArea", mean(lift));
            row.put("peakInMask", (double) rs.stream().filter(r -> r.peakInMask().get(l)).count() / rs.size());
            row.put("emptyMaps", rs.size() - in.length);
            per.put(l.key(), row);
        }
        m.put("layers", per);
        return m;
    }

    private static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return v.length == 0 ? Double.NaN : s / v.length;
    }

    private static String csv(Map<String, List<MaskStudy.ImageResult>> bySource, List<GradCam.Layer> layers) {
        StringBuilder b = new StringBuilder("source,image,label,predicted,area_fraction");
        for (GradCam.Layer l : layers) {
            b.append(",in_mask_").append(l.key());
        }
        for (GradCam.Layer l : layers) {
            b.append(",peak_in_mask_").append(l.key());
        }
        b.append('\n');
        for (Map.Entry<String, List<MaskStudy.ImageResult>> e : bySource.entrySet()) {
            for (MaskStudy.ImageResult r : e.getValue()) {
                b.append(e.getKey()).append(',').append(r.image()).append(',').append(r.label()).append(',')
                        .append(r.predicted()).append(String.format(Locale.ROOT, ",%.6f", r.areaFraction()));
                for (GradCam.Layer l : layers) {
                    b.append(String.format(Locale.ROOT, ",%.6f", r.inMask().get(l)));
                }
                for (GradCam.Layer l : layers) {
                    b.append(',').append(r.peakInMask().get(l));
                }
                b.append('\n');
            }
        }
        return b.toString();
    }

    private static String stem(String name) {
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }
}
