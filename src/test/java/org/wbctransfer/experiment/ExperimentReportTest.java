package org.wbctransfer.experiment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.evaluation.ClassificationMetrics;
import org.wbctransfer.evaluation.ConfusionMatrix;
import org.wbctransfer.evaluation.ConfusionMatrixPlot;
import org.wbctransfer.evaluation.EvaluationReport;
import org.wbctransfer.training.EpochResult;
import org.wbctransfer.util.Json;

class ExperimentReportTest {

    private static final List<String> CLASSES = List.of("lymphocyte", "neutrophil");
    private static final double SQRT_HALF_TENTH = 0.0707107; // sample std of {x, x + 0.1}

    @TempDir
    Path root;

    private Path out;
    private final List<Cell> cells = new ArrayList<>();

    /**
     * A symmetric 2x2 matrix [[k, 10-k], [10-k, k]] has accuracy, both class F1s, macro and weighted
     * F1 all equal to k/10, which makes the expected means trivial to compute by hand.
     */
    private static ConfusionMatrix symmetric(int k) {
        return new ConfusionMatrix(CLASSES, new long[][] {{k, 10 - k}, {10 - k, k}});
    }

    /**
     * [[18, 2], [0, 10]]: lymphocyte F1 = 36/38 = 0.947368, neutrophil F1 = 20/22 = 0.909091,
     * accuracy 28/30 = 0.933333, macro F1 = 0.928230, weighted F1 = (20*0.947368 + 10*0.909091)/30 = 0.934609.
     */
    private static ConfusionMatrix skewed() {
        return new ConfusionMatrix(CLASSES, new long[][] {{18, 2}, {0, 10}});
    }

    private Cell cell(String arm, String subset, long seed) {
        Cell c = new Cell(arm, subset, 0, seed, root.resolve("runs").resolve(arm + "-" + subset + "-s" + seed));
        cells.add(c);
        return c;
    }

    private static void finish(Cell c, ConfusionMatrix cm, boolean withPng) throws IOException {
        Path eval = c.runDir().resolve("eval-test");
        EvaluationReport.writeJson(ClassificationMetrics.compute(cm, null, null), eval.resolve("metrics.json"));
        if (withPng) {
            ConfusionMatrixPlot.writePng(cm, eval.resolve("confusion.png"), c.label());
        }
        StringBuilder csv = new StringBuilder(EpochResult.CSV_HEADER).append('\n');
        for (int e = 1; e <= 4; e++) {
            // No validation carve-out: the val columns stay empty, as for the smallest subsets.
            csv.append(new EpochResult(e, 1e-3, 2.0 / e + c.seed() * 0.01, 0.5 + 0.1 * e, Double.NaN, Double.NaN,
                    Double.NaN, 100, 10, false).toCsv()).append('\n');
        }
        Files.writeString(c.runDir().resolve("summary.csv"), csv.toString());
        Files.writeString(c.runDir().resolve("config.json"), "{}\n");
    }

    @BeforeEach
    void buildCells() throws IOException {
        out = root.resolve("report");
        finish(cell("baseline", "WBC_1", 1), symmetric(6), true);
        finish(cell("baseline", "WBC_1", 2), symmetric(5), true);
        finish(cell("baseline", "WBC_10", 1), symmetric(7), true);
        finish(cell("baseline", "WBC_10", 2), symmetric(8), true);
        finish(cell("enhanced-camelyon", "WBC_1", 1), skewed(), false); // PNG redrawn from the metrics
        Cell unfinished = cell("enhanced-camelyon", "WBC_1", 2);
        Files.createDirectories(unfinished.runDir().resolve("checkpoints"));
        finish(cell("enhanced-camelyon", "WBC_10", 1), symmetric(9), true);
        finish(cell("enhanced-camelyon", "WBC_10", 2), symmetric(8), true);
        finish(cell("enhanced-camelyon", "WBC_10", 3), symmetric(7), true);
        // An evaluation on an outside folder, present for two runs only.
        EvaluationReport.writeJson(ClassificationMetrics.compute(symmetric(6), null, null),
                cells.get(2).runDir().resolve("eval-external/metrics.json"));
        EvaluationReport.writeJson(ClassificationMetrics.compute(symmetric(4), null, null),
                cells.get(3).runDir().resolve("eval-external/metrics.json"));
    }

    private static List<Map<String, String>> readCsv(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file);
        String[] header = lines.get(0).split(",", -1);
        List<Map<String, String>> rows = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",", -1);
            assertThat(f).hasSameSizeAs(header);
            Map<String, String> row = new HashMap<>();
            for (int i = 0; i < header.length; i++) {
                row.put(header[i], f[i]);
            }
            rows.add(row);
        }
        return rows;
    }

    private static Map<String, String> row(List<Map<String, String>> rows, String arm, String subset) {
        return rows.stream().filter(r -> r.get("arm").equals(arm) && r.get("subset").equals(subset))
                .findFirst().orElseThrow();
    }

    private static double d(String s) {
        return Double.parseDouble(s);
    }

    @Test
    void aggregatesMeansAndSampleStdsInResultsCsv() throws IOException {
        ExperimentReport.write(out, "Test grid", cells, Map.of());
        List<Map<String, String>> rows = readCsv(out.resolve("results.csv"));
        assertThat(rows).hasSize(4);

        Map<String, String> b10 = row(rows, "baseline", "WBC_10");
        assertThat(b10.get("n_runs")).isEqualTo("2");
        for (String metric : List.of("accuracy", "weighted_f1", "macro_f1")) {
            assertThat(d(b10.get(metric + "_mean"))).isCloseTo(0.75, within(1e-7));
            assertThat(d(b10.get(metric + "_std"))).isCloseTo(SQRT_HALF_TENTH, within(1e-7));
        }
        assertThat(d(b10.get("f1_lymphocyte_mean"))).isCloseTo(0.75, within(1e-7));

        Map<String, String> b1 = row(rows, "baseline", "WBC_1");
        assertThat(d(b1.get("macro_f1_mean"))).isCloseTo(0.55, within(1e-7));
        assertThat(d(b1.get("macro_f1_std"))).isCloseTo(SQRT_HALF_TENTH, within(1e-7));

        Map<String, String> e10 = row(rows, "enhanced-camelyon", "WBC_10");
        assertThat(e10.get("n_runs")).isEqualTo("3");
        assertThat(d(e10.get("accuracy_mean"))).isCloseTo(0.8, within(1e-7));
        assertThat(d(e10.get("accuracy_std"))).isCloseTo(0.1, within(1e-7)); // {0.9, 0.8, 0.7}

        // Seed 2 never finished: one seed left, so the std is undefined and left empty.
        Map<String, String> e1 = row(rows, "enhanced-camelyon", "WBC_1");
        assertThat(e1.get("n_runs")).isEqualTo("1");
        assertThat(d(e1.get("accuracy_mean"))).isCloseTo(28.0 / 30, within(1e-7));
        assertThat(d(e1.get("macro_f1_mean"))).isCloseTo((36.0 / 38 + 20.0 / 22) / 2, within(1e-7));
        assertThat(d(e1.get("weighted_f1_mean"))).isCloseTo((20 * 36.0 / 38 + 10 * 20.0 / 22) / 30, within(1e-7));
        assertThat(e1.get("macro_f1_std")).isEmpty();
        assertThat(d(e1.get("f1_lymphocyte_mean"))).isCloseTo(0.947368, within(1e-6));
        assertThat(d(e1.get("f1_neutrophil_mean"))).isCloseTo(0.909091, within(1e-6));

        // Outside set: baseline WBC_10 has it on both seeds ({0.6, 0.4}), the others on none.
        assertThat(b10.get("eval_external_n_seeds")).isEqualTo("2");
        assertThat(d(b10.get("eval_external_macro_f1_mean"))).isCloseTo(0.5, within(1e-7));
        assertThat(d(b10.get("eval_external_accuracy_std"))).isCloseTo(0.1414214, within(1e-7));
        assertThat(e10.get("eval_external_n_seeds")).isEqualTo("0");
        assertThat(e10.get("eval_external_macro_f1_mean")).isEmpty();
    }

    /**
     * A calibrated run's temperature.json (written by wbc calibrate from its saved test predictions)
     * puts its figures in the report's "When the model is unsure" table, the runs CSV and the JSON,
     * and results.md is still rebuilt exactly from results.json.
     */
    @Test
    void calibratedRunsGetTheirCalibrationAndSelectiveFiguresInTheReport() throws IOException {
        Files.writeString(cells.get(2).runDir().resolve("eval-test/temperature.json"), """
                {"temperature": 1.25, "testAfter": {"ece": 0.0123, "accuracyAtCoverage": {"0.950": 0.9912},
                 "coverageAtAccuracy": {"0.990": 0.9634}}}
                """);
        ExperimentReport.write(out, "Test grid", cells, Map.of());
        String md = Files.readString(out.resolve("results.md"));
        assertThat(md).contains("## When the model is unsure")
                .contains("| baseline | WBC_10 | 0 | 1 | 1.250 | 0.0123 | 99.12 | 96.34 |");
        // Only the calibrated run has the row.
        assertThat(md.lines().filter(l -> l.matches("\\| .* \\| 0\\.0123 \\|.*"))).hasSize(1);
        assertThat(ExperimentReport.markdownFromJson(out.resolve("results.json"))).isEqualTo(md);
        Map<String, String> row = readCsv(out.resolve("results-runs.csv")).stream()
                .filter(r -> r.get("test_ece").equals("0.0123")).findFirst().orElseThrow();
        assertThat(row.get("test_temperature")).isEqualTo("1.25");
        assertThat(row.get("test_accuracy_at_95_coverage")).isEqualTo("0.9912");
    }

    @Test
    void runsCsvHasOneRowPerFinishedCell() throws IOException {
        ExperimentReport.write(out, "Test grid", cells, Map.of());
        List<Map<String, String>> rows = readCsv(out.resolve("results-runs.csv"));
        assertThat(rows).hasSize(8);
        Map<String, String> r = rows.stream()
                .filter(x -> x.get("arm").equals("baseline") && x.get("subset").equals("WBC_10") && x.get("seed").equals("2"))
                .findFirst().orElseThrow();
        assertThat(d(r.get("macro_f1"))).isEqualTo(0.8);
        assertThat(d(r.get("f1_neutrophil"))).isEqualTo(0.8);
        assertThat(d(r.get("eval_external_accuracy"))).isEqualTo(0.4);
        // Relative to the report folder: a committed report carries no path of the machine that made it.
        assertThat(r.get("run_dir")).isEqualTo("../runs/baseline-WBC_10-s2");
        assertThat(r.get("split_seed")).isEqualTo("0");
        // Four epochs of 10 s each in the run's summary.csv.
        assertThat(r.get("training_minutes")).isEqualTo("0.67");
        assertThat(Files.readString(out.resolve("results.json"))).contains("\"trainingMinutes\" : 0.6666");
    }

    @Test
    void markdownShowsOursPublishedDifferencesAndMissing() throws IOException {
        ExperimentReport.write(out, "Test grid", cells, Map.of());
        String md = Files.readString(out.resolve("results.md"));

        assertThat(md).startsWith("# Test grid");
        assertThat(md).contains("| Arm | Metric | WBC_1 | WBC_10 | WBC_50 | WBC_100 |");
        assertThat(md).contains("| baseline | Macro F1 | 0.550 \u00B1 0.071 (2) | 0.750 \u00B1 0.071 (2) | \u2014 | \u2014 |");
        assertThat(md).contains("| baseline | Test accuracy (%) | 55.00 \u00B1 7.07 (2) | 75.00 \u00B1 7.07 (2) |");
        // One of two planned seeds finished: flagged, and no std.
        assertThat(md).contains("| enhanced-camelyon | Test accuracy (%) | 93.33 (1 of 2) | 80.00 \u00B1 10.00 (3) |");
        // Published table as printed by the study.
        assertThat(md).contains("| Baseline | Test accuracy (%) | 53.88 | 92.48 | 95.54 | 96.06 |");
        assertThat(md).contains("| Enhanced | Macro F1 | 0.63 | 0.88 | 0.93 | 0.95 |");
        // Ours - published: baseline WBC_10 macro F1 0.75 - 0.84, accuracy 75.00 - 92.48 (pp);
        // enhanced-* is compared with Enhanced: WBC_1 accuracy 93.33 - 73.84, WBC_10 macro F1 0.80 - 0.88.
        assertThat(md).contains("| baseline | Baseline | Macro F1 | +0.200 | -0.090 | \u2014 | \u2014 |");
        assertThat(md).contains("| baseline | Baseline | Test accuracy (pp) | +1.12 | -17.48 |");
        assertThat(md).contains("| enhanced-camelyon | Enhanced | Test accuracy (pp) | +19.49 | -13.40 |");
        assertThat(md).contains("| enhanced-camelyon | Enhanced | Macro F1 | +0.298 | -0.080 |");
        // Per-class F1.
        assertThat(md).contains("| enhanced-camelyon | WBC_1 | 1 | 0.947 | 0.909 |");
        // Against the baseline: one of two planned runs, so the verdict is provisional; macro F1
        // 0.928230 - 0.55 against the baseline's std 0.0707 (the single run has none).
        assertThat(md).contains("| enhanced-camelyon | WBC_1 | +0.378 | +38.33 | 0.071 | 0: +0.378 | so far (runs missing): lead kept: larger than the spread |");
        // Outside set section.
        assertThat(md).contains("### external (eval-external)");
        assertThat(md).contains("| baseline | WBC_10 | 2 | 50.00 \u00B1 14.14 | 0.500 \u00B1 0.141 |");
        // The unfinished cell is listed, with a relative link to its run directory.
        String missing = md.substring(md.indexOf("## Missing cells"));
        assertThat(missing).contains("| enhanced-camelyon | WBC_1 | 0 | 2 | no eval-test/metrics.json");
        assertThat(missing).contains("(../runs/enhanced-camelyon-WBC_1-s2/)");
    }

    @Test
    void jsonHoldsAggregatesPerSeedValuesAndPublishedTable() throws IOException {
        ExperimentReport.write(out, "Test grid", cells, Map.of());
        JsonNode root = Json.MAPPER.readTree(out.resolve("results.json").toFile());
        JsonNode b10 = null;
        for (JsonNode g : root.get("groups")) {
            if (g.get("arm").asText().equals("baseline") && g.get("subset").asText().equals("WBC_10")) {
                b10 = g;
            }
        }
        assertThat(b10).isNotNull();
        assertThat(b10.get("macroF1").get("mean").asDouble()).isCloseTo(0.75, within(1e-9));
        assertThat(b10.get("macroF1").get("std").asDouble()).isCloseTo(SQRT_HALF_TENTH, within(1e-7));
        assertThat(b10.get("macroF1").get("values")).extracting(JsonNode::asDouble).containsExactly(0.7, 0.8);
        assertThat(b10.get("differenceToPublished").get("macroF1").asDouble()).isCloseTo(-0.09, within(1e-9));
        assertThat(root.get("published").get("arms").get("Enhanced").get("accuracy").get(3).asDouble()).isEqualTo(0.9733);
        assertThat(root.get("missing")).hasSize(1);
        assertThat(root.get("missing").get(0).get("seed").asLong()).isEqualTo(2);
        JsonNode e1 = root.get("groups").get(2);
        assertThat(e1.get("arm").asText()).isEqualTo("enhanced-camelyon");
        assertThat(e1.get("macroF1").get("std").isNull()).isTrue();
        assertThat(e1.get("missing")).hasSize(1);
        assertThat(e1.get("missing").get(0).get("seed").asLong()).isEqualTo(2L);
        assertThat(e1.get("missing").get(0).get("splitSeed").asLong()).isEqualTo(0L);
    }

    @Test
    void plotsDecodeAndConfusionMatricesAreCopied() throws IOException {
        ExperimentReport.write(out, "Test grid", cells, Map.of());
        for (String name : List.of("macro_f1.png", "accuracy.png", "learning_curves.png")) {
            BufferedImage img = ImageIO.read(out.resolve("plots").resolve(name).toFile());
            assertThat(img).as(name).isNotNull();
            assertThat(img.getWidth()).as(name).isGreaterThan(400);
        }
        Path confusion = out.resolve("plots/confusion");
        try (Stream<Path> files = Files.list(confusion)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(
                    "baseline_WBC_1_split0_seed1.png", "baseline_WBC_1_split0_seed2.png", "baseline_WBC_10_split0_seed1.png",
                    "baseline_WBC_10_split0_seed2.png", "enhanced-camelyon_WBC_1_split0_seed1.png",
                    "enhanced-camelyon_WBC_10_split0_seed1.png", "enhanced-camelyon_WBC_10_split0_seed2.png",
                    "enhanced-camelyon_WBC_10_split0_seed3.png");
        }
        // Copied byte for byte where the run has its own picture.
        assertThat(Files.readAllBytes(confusion.resolve("baseline_WBC_10_split0_seed2.png")))
                .isEqualTo(Files.readAllBytes(cells.get(3).runDir().resolve("eval-test/confusion.png")));
        try (Stream<Path> all = Files.walk(out)) {
            for (Path p : all.filter(p -> p.toString().endsWith(".png")).toList()) {
                assertThat(ImageIO.read(p.toFile())).as(p.toString()).isNotNull();
            }
        }
    }

    @Test
    void htmlIsSelfContained() throws IOException {
        ExperimentReport.write(out, "Grid <1> & co", cells, Map.of());
        String html = Files.readString(out.resolve("report.html"));
        assertThat(html).contains("<title>Grid &lt;1&gt; &amp; co</title>");
        assertThat(html).contains("data:image/png;base64,");
        // Every table scrolls in its own box, so the runs table cannot widen the page past the window.
        assertThat(html.split("<table>", -1).length - 1).isPositive()
                .isEqualTo(html.split("<div class=\"wide\"><table>", -1).length - 1);
        assertThat(html).contains(".wide{max-width:100%;overflow-x:auto}");
        // ':' is not in the base64 alphabet, so these cannot appear by chance inside image data.
        assertThat(html).doesNotContain("http:").doesNotContain("https:").doesNotContain("<link")
                .doesNotContain("<script");
        Matcher src = Pattern.compile("src=\"([^\"]*)\"").matcher(html);
        int images = 0;
        while (src.find()) {
            assertThat(src.group(1)).startsWith("data:image/png;base64,");
            images++;
        }
        assertThat(images).isEqualTo(3 + 8); // three plots and one confusion matrix per finished run
        Matcher href = Pattern.compile("href=\"([^\"]*)\"").matcher(html);
        int links = 0;
        while (href.find()) {
            assertThat(href.group(1)).startsWith("../runs/");
            links++;
        }
        assertThat(links).isEqualTo(9); // eight runs and the missing cell
        assertThat(html).contains("Missing cells").contains("enhanced-camelyon-WBC_1-s2");
        assertThat(html).contains("0.750 \u00B1 0.071 (2)").contains("-0.090").contains("Outside test sets");
        // Every embedded image decodes.
        Matcher data = Pattern.compile("data:image/png;base64,([A-Za-z0-9+/=]+)").matcher(html);
        while (data.find()) {
            byte[] png = java.util.Base64.getDecoder().decode(data.group(1));
            assertThat(ImageIO.read(new java.io.ByteArrayInputStream(png))).isNotNull();
        }
    }

    @Test
    void leavesNoTempFilesAndRewritesInPlace() throws IOException {
        ExperimentReport.write(out, "Test grid", cells, Map.of());
        // A second pass over an existing report replaces every file.
        ExperimentReport.write(out, "Test grid", cells, Map.of());
        try (Stream<Path> all = Files.walk(root)) {
            assertThat(all.map(p -> p.getFileName().toString()))
                    .noneMatch(n -> n.endsWith(".tmp"))
                    .noneMatch(n -> n.startsWith("."));
        }
        try (Stream<Path> top = Files.list(out)) {
            assertThat(top.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(
                    "results.csv", "results-runs.csv", "results-splits.csv", "results.json", "results.md", "report.html", "plots");
        }
    }

    @Test
    void aCellWithoutAnyRunDirectoryIsMissingNotDropped() throws IOException {
        cell("baseline", "WBC_50", 1); // never started
        ExperimentReport.write(out, null, cells, Map.of());
        String md = Files.readString(out.resolve("results.md"));
        assertThat(md).contains("| baseline | WBC_50 | 0 | 1 | run directory does not exist");
        // A subset with no finished seed shows a dash, like a subset that was never planned.
        assertThat(md).contains("| baseline | Macro F1 | 0.550 \u00B1 0.071 (2) | 0.750 \u00B1 0.071 (2) | \u2014 | \u2014 |");
        List<Map<String, String>> rows = readCsv(out.resolve("results.csv"));
        assertThat(row(rows, "baseline", "WBC_50").get("n_runs")).isEqualTo("0");
        assertThat(row(rows, "baseline", "WBC_50").get("macro_f1_mean")).isEmpty();
    }

    @Test
    void unreadableMetricsAreReportedAsMissing() throws IOException {
        Cell broken = cell("baseline", "WBC_100", 1);
        Files.createDirectories(broken.runDir().resolve("eval-test"));
        Files.writeString(broken.runDir().resolve("eval-test/metrics.json"), "{ not json");
        ExperimentReport.write(out, "t", cells, Map.of());
        String md = Files.readString(out.resolve("results.md"));
        assertThat(md).contains("| baseline | WBC_100 | 0 | 1 | unreadable eval-test/metrics.json");
    }

    /** Three fresh splits and the development split, one training seed each: baseline against a better arm. */
    private List<Cell> splitGrid() throws IOException {
        List<Cell> grid = new ArrayList<>();
        int[][] correct = {{6, 7}, {7, 9}, {8, 9}, {5, 9}}; // per split seed 1, 2, 3, 0: {baseline, selftrain} of 10
        long[] splits = {1, 2, 3, 0};
        for (int i = 0; i < splits.length; i++) {
            for (int a = 0; a < 2; a++) {
                String arm = a == 0 ? "baseline" : "selftrain";
                Cell c = new Cell(arm, "WBC_10", splits[i], 0,
                        root.resolve("grid").resolve(arm).resolve("WBC_10-split" + splits[i] + "-seed0"));
                finish(c, symmetric(correct[i][a]), false);
                grid.add(c);
            }
        }
        return grid;
    }

    @Test
    void freshSplitsArePooledAndTheDevelopmentSplitIsShownApart() throws IOException {
        Path report = root.resolve("grid");
        ExperimentReport.write(report, "Splits", splitGrid(), Map.of());
        String md = Files.readString(report.resolve("results.md"));
        // Pooled over split seeds 1-3 only: baseline {0.6, 0.7, 0.8}, selftrain {0.7, 0.9, 0.9}.
        assertThat(md).contains("| baseline | Macro F1 | \u2014 | 0.700 \u00B1 0.100 (3\u00D71) |");
        assertThat(md).contains("| selftrain | Macro F1 | \u2014 | 0.833 \u00B1 0.115 (3\u00D71) |");
        assertThat(md).contains("Runs pool split seeds 1 2 3.");
        // Lead +0.133 against the larger std 0.115: kept; paired per split +0.1, +0.2, +0.1.
        assertThat(md).contains("| selftrain | WBC_10 | +0.133 | +13.33 | 0.115 | 1: +0.100, 2: +0.200, 3: +0.100 | lead kept: larger than the spread |");
        // The development split: its own table, never in the pooled means.
        String dev = md.substring(md.indexOf("## Development split (split seed 0)"));
        assertThat(dev).contains("| baseline | Macro F1 | \u2014 | 0.500 (1) |");
        assertThat(dev).contains("| selftrain | Macro F1 | \u2014 | 0.900 (1) |");
        assertThat(md).contains("| selftrain | WBC_10 | 0 | 1 | 90.00 | 0.900 |");
        List<Map<String, String>> rows = readCsv(report.resolve("results.csv"));
        assertThat(rows).extracting(r -> r.get("arm") + "/" + r.get("pool") + "/" + r.get("split_seeds") + "/" + r.get("n_runs"))
                .containsExactly("baseline/pooled/1 2 3/3", "selftrain/pooled/1 2 3/3", "baseline/development/0/1",
                        "selftrain/development/0/1");
        assertThat(readCsv(report.resolve("results-splits.csv"))).hasSize(8);
        JsonNode root = Json.MAPPER.readTree(report.resolve("results.json").toFile());
        assertThat(root.get("againstBaseline").get(0).get("verdict").asText()).isEqualTo("lead kept: larger than the spread");
        assertThat(root.get("groups").get(1).get("perSplit").get(1).get("macroF1").asDouble()).isCloseTo(0.9, within(1e-12));
    }

    @Test
    void anArmChosenOnTestFiguresSaysSoInEveryRow() throws IOException {
        Path report = root.resolve("grid");
        ExperimentReport.write(report, "Splits", splitGrid(), Map.of("selftrain", "chosen on split 0's test"));
        String md = Files.readString(report.resolve("results.md"));
        String label = "| selftrain (chosen on split 0's test) |";
        assertThat(md).contains(label + " Macro F1 | \u2014 | 0.833 \u00B1 0.115 (3\u00D71) |");
        assertThat(md).contains(label + " WBC_10 | +0.133 |");
        assertThat(md).contains(label + " WBC_10 | 0 | 1 | 90.00 | 0.900 |");
        assertThat(md.lines().filter(l -> l.startsWith("| selftrain |"))).isEmpty();
        assertThat(ExperimentReport.markdownFromJson(report.resolve("results.json"))).isEqualTo(md);
    }

    @Test
    void aLeadWithinTheSpreadIsNotConfirmed() throws IOException {
        List<Cell> grid = new ArrayList<>();
        int[][] correct = {{6, 8}, {8, 7}, {7, 8}};
        for (int i = 0; i < 3; i++) {
            for (int a = 0; a < 2; a++) {
                Cell c = new Cell(a == 0 ? "baseline" : "other", "WBC_1", i + 1, 0, root.resolve("g2").resolve(a + "-" + i));
                finish(c, symmetric(correct[i][a]), false);
                grid.add(c);
            }
        }
        Path report = root.resolve("r2");
        ExperimentReport.write(report, "t", grid, Map.of());
        assertThat(Files.readString(report.resolve("results.md")))
                .contains("| other | WBC_1 | +0.067 | +6.67 | 0.100 | 1: +0.200, 2: -0.100, 3: +0.100 | lead not confirmed: within the spread |");
    }

    @Test
    void resultsMdIsRebuiltFromResultsJsonAlone() throws IOException {
        Path report = root.resolve("grid");
        List<Cell> grid = splitGrid();
        ExperimentReport.write(report, "Splits", grid, Map.of());
        String written = Files.readString(report.resolve("results.md"));
        // The run directories can go: the JSON carries every figure the Markdown shows.
        for (Cell c : grid) {
            Files.delete(c.runDir().resolve("eval-test/metrics.json"));
        }
        assertThat(ExperimentReport.markdownFromJson(report.resolve("results.json"))).isEqualTo(written);
        ExperimentReport.write(out, "Test grid", cells, Map.of());
        assertThat(ExperimentReport.markdownFromJson(out.resolve("results.json"))).isEqualTo(Files.readString(out.resolve("results.md")));
        // A figure edited in the JSON changes the rebuilt Markdown: the check can fail.
        Path json = report.resolve("results.json");
        String text = Files.readString(json);
        int runs = text.indexOf("\"runs\"");
        Files.writeString(json, text.substring(0, runs) + text.substring(runs).replaceFirst("\"accuracy\" ?: ?0\\.6", "\"accuracy\":0.65"));
        assertThat(ExperimentReport.markdownFromJson(json)).isNotEqualTo(written);
    }

    @Test
    void duplicateCellsAreRejected() {
        cells.add(new Cell("baseline", "WBC_1", 0, 1, root.resolve("elsewhere")));
        assertThatThrownBy(() -> ExperimentReport.write(out, "t", cells, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("duplicate");
    }

    @Test
    void statsUseTheSampleStandardDeviation() {
        assertThat(Stats.of(List.of(0.70, 0.80)).std()).isCloseTo(SQRT_HALF_TENTH, within(1e-7));
        assertThat(Stats.of(List.of(0.5)).std()).isNaN();
        assertThat(Stats.of(List.of()).n()).isZero();
        assertThat(Arrays.asList(ReportCsv.num(0.75), ReportCsv.num(Double.NaN), ReportCsv.num(0.0)))
                .containsExactly("0.75", "", "0");
    }

    @Test
    void publishedArmsMatchByName() {
        assertThat(PublishedResults.matchFor("baseline")).contains("Baseline");
        assertThat(PublishedResults.matchFor("Enhanced-pRCC")).contains("Enhanced");
        assertThat(PublishedResults.matchFor("imagenet")).isEmpty();
        assertThat(PublishedResults.value("Baseline", Metric.MACRO_F1, "WBC_1")).hasValue(0.35);
        assertThat(Metric.ACCURACY.formatDifference(-0.0000001)).isEqualTo("+0.00");
    }
}
