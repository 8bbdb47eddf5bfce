package org.wbctransfer.cli;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.ImageCache;
import org.wbctransfer.data.ImageFolder;
import org.wbctransfer.data.SplitData;
import org.wbctransfer.data.SplitManifest;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.evaluation.OodFit;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.OodDetector;
import org.wbctransfer.training.WbcTrainer;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.Png;
import org.wbctransfer.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code wbc ood-study}: how well each out-of-distribution score tells a run's own kind of images
 * from other image sources, to choose the score and to report it.
 */
@Command(name = "ood-study", mixinStandardHelpOptions = true,
        description = "Measure the out-of-distribution scores (mahalanobis, energy, msp) of a finished run: the area"
                + " under the ROC curve for telling its validation carve-out (and with --test its test split) from each"
                + " --set folder and from generated non-cell images (blank slide background, noise), and the fraction"
                + " of each flagged at the 99th percentile of the validation scores. The run is not changed.")
public final class OodStudyCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "Run directory (from 'wbc train' or a grid)")
    Path run;

    @Option(names = "--set", description = "name=folder of outside images (searched recursively; labels unused)")
    List<String> sets = new ArrayList<>();

    @Option(names = "--synthetic", defaultValue = "100", description = "Generated non-cell images (half blank"
            + " background, half noise); 0 for none. Default: ${DEFAULT-VALUE}")
    int synthetic;

    @Option(names = "--test", description = "Also score the run's test split (a second read of its test images:"
            + " label the figures so)")
    boolean test;

    @Option(names = {"-o", "--out"}, required = true, description = "JSON file for the figures")
    Path out;

    @Mixin
    CacheOption cacheOption;

    @Override
    public Integer call() throws Exception {
        RunDir dir = RunDir.of(run);
        if (!Files.isRegularFile(dir.config())) {
            throw new UserException(run + ": not a run directory (no config.json)");
        }
        Map<String, Path> folders = new LinkedHashMap<>();
        for (String s : sets) {
            int eq = s.indexOf('=');
            if (eq < 1 || !Files.isDirectory(Path.of(s.substring(eq + 1)))) {
                throw new UserException("--set " + s + ": expected name=folder of images");
            }
            folders.put(s.substring(0, eq), Path.of(s.substring(eq + 1)));
        }
        TrainConfig cfg = Json.read(dir.config(), TrainConfig.class);
        SplitManifest manifest = SplitManifest.read(Path.of(cfg.manifest()));
        WbcTrainer.Partition part = WbcTrainer.partition(manifest, cfg.subset(), cfg.valPercent(), cfg.minValSubset(),
                cfg.seed());
        if (part.validation().isEmpty()) {
            throw new UserException(run + ": no validation carve-out to set thresholds on");
        }
        try (Classifier loaded = Classifier.load(dir.model())) {
            SplitData data = SplitData.open(Path.of(cfg.dataRoot()), manifest, cfg.imageSize(), loaded.framing(),
                    Path.of(cfg.cacheDir()));
            List<String> skipped = new ArrayList<>();
            Classifier c = loaded.detector() != null ? loaded
                    : loaded.withDetector(OodFit.detector(loaded, data.cache(), data.samples(part.train(), skipped)));
            Map<String, double[][]> scores = new LinkedHashMap<>();
            double[][] val = score(c, data.cache(), data.samples(part.validation(), skipped));
            if (test) {
                scores.put("raabin-test (second read)", score(c, data.cache(), data.samples(manifest.test(), skipped)));
            }
            for (Map.Entry<String, Path> e : folders.entrySet()) {
                scores.put(e.getKey(), scoreFolder(c, e.getValue()));
            }
            if (synthetic > 0) {
                Path gen = Path.of(cacheOption.dir.toString(), "ood-synthetic-" + synthetic);
                generate(gen, synthetic);
                scores.put("synthetic", scoreFolder(c, gen));
            }
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("run", run.toString());
            doc.put("validationImages", val[0].length);
            Map<String, Object> byScore = new LinkedHashMap<>();
            for (OodDetector.Score s : OodDetector.Score.values()) {
                double threshold = OodFit.percentile(val[s.ordinal()], OodFit.PERCENTILE);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("threshold", threshold);
                Map<String, Object> perSet = new LinkedHashMap<>();
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-12s", s.key()));
                for (Map.Entry<String, double[][]> e : scores.entrySet()) {
                    double[] v = e.getValue()[s.ordinal()];
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("images", v.length);
                    m.put("aurocVsValidation", OodFit.auroc(val[s.ordinal()], v));
                    if (test && !e.getKey().startsWith("raabin-test")) {
                        m.put("aurocVsTest", OodFit.auroc(scores.get("raabin-test (second read)")[s.ordinal()], v));
                    }
                    m.put("flagged", flagged(v, threshold));
                    perSet.put(e.getKey(), m);
                    line.append(String.format(Locale.ROOT, "  %s: AUROC %.4f, flagged %.2f %%", e.getKey(),
                            (double) m.get(m.containsKey("aurocVsTest") ? "aurocVsTest" : "aurocVsValidation"),
                            100 * flagged(v, threshold)));
                }
                row.put("sets", perSet);
                byScore.put(s.key(), row);
                System.out.println(line);
            }
            doc.put("scores", byScore);
            Json.write(out, doc);
            System.out.println("written: " + out);
        }
        return 0;
    }

    private static double flagged(double[] v, double threshold) {
        int n = 0;
        for (double x : v) {
            n += x > threshold ? 1 : 0;
        }
        return (double) n / v.length;
    }

    private static double[][] score(Classifier c, ImageCache cache, List<BatchLoader.Sample> samples) {
        return Evaluation.scored(c, cache, samples, false).scores();
    }

    private double[][] scoreFolder(Classifier c, Path folder) throws java.io.IOException {
        List<String> rel = new ArrayList<>();
        for (Path f : ImageFolder.findImages(folder, (f, why) -> StrictOption.warn(f + ": cannot read (" + why + ")"))) {
            rel.add(folder.relativize(f).toString());
        }
        if (rel.isEmpty()) {
            throw new UserException(folder + ": no images");
        }
        ImageCache cache = ImageCache.open(folder, rel, c.metadata().imageSize(), c.framing(), cacheOption.dir);
        List<BatchLoader.Sample> samples = new ArrayList<>();
        for (int i = 0; i < rel.size(); i++) {
            if (cache.pixels(i) != null) {
                samples.add(new BatchLoader.Sample(i, 0));
            }
        }
        return score(c, cache, samples);
    }

    /**
     * Non-cell images a user may feed by mistake: blank slide background (a light pinkish grey
     * with sensor noise) and pure colour noise, 128 px, reproducible (seed 0).
     */
    static void generate(Path dir, int n) throws java.io.IOException {
        Files.createDirectories(dir);
        Random rnd = new Random(0);
        for (int i = 0; i < n; i++) {
            Path f = dir.resolve(String.format(Locale.ROOT, "%s-%03d.png", i % 2 == 0 ? "blank" : "noise", i));
            if (Files.isRegularFile(f)) {
                continue;
            }
            BufferedImage img = new BufferedImage(128, 128, BufferedImage.TYPE_INT_RGB);
            int r0 = 215 + rnd.nextInt(30);
            int g0 = 200 + rnd.nextInt(30);
            int b0 = 205 + rnd.nextInt(30);
            for (int y = 0; y < 128; y++) {
                for (int x = 0; x < 128; x++) {
                    int r;
                    int g;
                    int b;
                    if (i % 2 == 0) {
                        r = clamp(r0 + (int) (rnd.nextGaussian() * 4));
                        g = clamp(g0 + (int) (rnd.nextGaussian() * 4));
                        b = clamp(b0 + (int) (rnd.nextGaussian() * 4));
                    } else {
                        r = rnd.nextInt(256);
                        g = rnd.nextInt(256);
                        b = rnd.nextInt(256);
                    }
                    img.setRGB(x, y, (r << 16) | (g << 8) | b);
                }
            }
            AtomicFiles.writeBytes(f, Png.bytes(img));
        }
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }
}
