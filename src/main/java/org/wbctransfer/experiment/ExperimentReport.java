package org.wbctransfer.experiment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.TreeSet;
import javax.imageio.ImageIO;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.evaluation.ClassificationMetrics;
import org.wbctransfer.evaluation.ConfusionMatrixPlot;
import org.wbctransfer.experiment.ExperimentData.Group;
import org.wbctransfer.experiment.ExperimentData.Missing;
import org.wbctransfer.experiment.ExperimentData.Run;
import org.wbctransfer.experiment.Table.Link;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Json;

/**
 * Collects finished experiment cells into tables, plots and a self-contained HTML page, and sets
 * them against the published study. Every file is written atomically, so a report regenerated
 * while training continues is never seen half-written; cells without test metrics are reported as
 * missing instead of being left out of the averages unnoticed.
 *
 * <p>results.json holds every run's test metrics and everything else results.md shows, with run
 * directories relative to {@code outDir}: {@link #markdownFromJson} rebuilds results.md from it
 * alone, so a committed report can be checked against its committed JSON (and the JSON against
 * the runs' own metrics.json).
 *
 * <p>Files written under {@code outDir}: {@value #RESULTS_CSV}, {@value #RUNS_CSV}, {@value #SPLITS_CSV},
 * {@value #RESULTS_JSON}, {@value #RESULTS_MD}, {@value #REPORT_HTML}, {@code plots/macro_f1.png},
 * {@code plots/accuracy.png}, {@code plots/learning_curves.png} (when any run has a summary.csv) and
 * {@code plots/confusion/<arm>_<subset>_seed<seed>.png}.
 */
public final class ExperimentReport {

    public static final String RESULTS_CSV = "results.csv";
    public static final String RUNS_CSV = "results-runs.csv";
    public static final String SPLITS_CSV = "results-splits.csv";
    /** The arm the others are measured against (the study's baseline). */
    static final String BASELINE_ARM = "baseline";
    public static final String RESULTS_JSON = "results.json";
    public static final String RESULTS_MD = "results.md";
    public static final String REPORT_HTML = "report.html";
    public static final String PLOTS = "plots";

    private static final List<Metric> METRICS = List.of(Metric.ACCURACY, Metric.WEIGHTED_F1, Metric.MACRO_F1);
    /** Outside sets are summarised by the two numbers people compare across datasets. */
    private static final List<Metric> OUTSIDE_METRICS = List.of(Metric.ACCURACY, Metric.MACRO_F1);
    private static final String NONE = "\u2014";
    private static final String AGAINST_BASELINE_NOTE = "Macro F1 of each arm minus the baseline's on the same budget, "
            + "over the pooled runs above; the lead is kept when it is larger than the larger of the two sample "
            + "standard deviations, not confirmed when it is smaller, lost when the arm is not above the baseline. Per "
            + "split seed: the paired difference on each split.";
    private static final String DEVELOPMENT_NOTE = "The development split: its test figures were looked at many "
            + "times and the recipes were chosen on them, so they are shown apart and never pooled with the fresh "
            + "splits above.";
    private static final String PM = " \u00B1 ";

    private ExperimentReport() {}

    /** A picture written under outDir and embedded in the HTML page. */
    private record Figure(String relPath, String caption, byte[] png) {}

    public static void write(Path outDir, String title, List<Cell> cells) throws IOException {
        Objects.requireNonNull(outDir, "outDir");
        Objects.requireNonNull(cells, "cells");
        String heading = (title == null || title.isBlank()) ? "WBC transfer experiment" : title.strip();
        ExperimentData d = ExperimentData.load(cells);
        Files.createDirectories(outDir);
        List<String> warnings = new ArrayList<>(d.warnings);
        String generated = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();

        AtomicFiles.writeString(outDir.resolve(RESULTS_CSV), resultsCsv(d));
        AtomicFiles.writeString(outDir.resolve(RUNS_CSV), runsCsv(d, outDir));
        AtomicFiles.writeString(outDir.resolve(SPLITS_CSV), splitsCsv(d));

        List<Figure> plots = new ArrayList<>();
        plots.add(save(outDir, PLOTS + "/macro_f1.png", "Macro F1 per label budget",
                ReportPlots.metricBars(d, Metric.MACRO_F1)));
        plots.add(save(outDir, PLOTS + "/accuracy.png", "Test accuracy per label budget",
                ReportPlots.metricBars(d, Metric.ACCURACY)));
        Optional<byte[]> curves = ReportPlots.learningCurves(d, warnings);
        if (curves.isPresent()) {
            plots.add(save(outDir, PLOTS + "/learning_curves.png",
                    "Training loss per epoch (lowest finished seed of each arm)", curves.get()));
        }
        List<Figure> confusions = new ArrayList<>();
        for (Run run : d.runs) {
            confusions.add(save(outDir, confusionPath(run.cell()), run.cell().label(), confusionPng(run)));
        }

        ObjectNode json = resultsJson(d, heading, generated, warnings, outDir, plots, confusions);
        Json.write(outDir.resolve(RESULTS_JSON), json);
        // Markdown from the JSON just written, the way the consistency check rebuilds it.
        AtomicFiles.writeString(outDir.resolve(RESULTS_MD), markdownFromJson(json, outDir));
        AtomicFiles.writeString(outDir.resolve(REPORT_HTML), html(d, heading, generated, outDir, plots, confusions, warnings));
    }

    /** results.md as {@link #write} makes it, rebuilt from a results.json alone (run directories relative to it). */
    public static String markdownFromJson(Path resultsJson) throws IOException {
        JsonNode root = Json.MAPPER.readTree(resultsJson.toFile());
        return markdownFromJson(root, resultsJson.toAbsolutePath().getParent());
    }

    private static String markdownFromJson(JsonNode root, Path outDir) throws IOException {
        List<Run> runs = new ArrayList<>();
        for (JsonNode r : root.get("runs")) {
            Map<String, ClassificationMetrics> outside = new LinkedHashMap<>();
            JsonNode o = r.get("outside");
            if (o != null) {
                for (Map.Entry<String, JsonNode> e : iterable(o.fields())) {
                    outside.put(e.getKey(), Json.MAPPER.treeToValue(e.getValue(), ClassificationMetrics.class));
                }
            }
            runs.add(new Run(cellOf(r, outDir), Json.MAPPER.treeToValue(r.get("test"), ClassificationMetrics.class), outside));
        }
        List<Missing> missing = new ArrayList<>();
        for (JsonNode m : root.get("missing")) {
            missing.add(new Missing(cellOf(m, outDir), m.get("reason").asText()));
        }
        List<String> arms = new ArrayList<>();
        root.get("arms").forEach(a -> arms.add(a.asText()));
        List<String> warnings = new ArrayList<>();
        root.get("warnings").forEach(w -> warnings.add(w.asText()));
        ExperimentData d = ExperimentData.of(arms, runs, missing, warnings);
        return markdown(d, root.get("title").asText(), root.get("generated").asText(), outDir,
                figureRefs(root.get("plots")), figureRefs(root.get("confusionMatrices")), warnings);
    }

    private static Cell cellOf(JsonNode n, Path outDir) {
        return new Cell(n.get("arm").asText(), n.get("subset").asText(), n.get("splitSeed").asLong(),
                n.get("seed").asLong(), outDir.resolve(n.get("runDir").asText()).normalize());
    }

    private static List<Figure> figureRefs(JsonNode array) {
        List<Figure> out = new ArrayList<>();
        array.forEach(f -> out.add(new Figure(f.get("path").asText(), f.get("caption").asText(), null)));
        return out;
    }

    private static <T> Iterable<T> iterable(java.util.Iterator<T> it) {
        return () -> it;
    }

    private static Figure save(Path outDir, String relPath, String caption, byte[] png) throws IOException {
        AtomicFiles.writeBytes(outDir.resolve(relPath), png);
        return new Figure(relPath, caption, png);
    }

    static String confusionPath(Cell c) {
        return PLOTS + "/confusion/" + fileSafe(c.arm()) + "_" + fileSafe(c.subset()) + "_split" + c.splitSeed()
                + "_seed" + c.seed() + ".png";
    }

    /** The evaluation's own picture when present; otherwise drawn again from the matrix in metrics.json. */
    private static byte[] confusionPng(Run run) throws IOException {
        Path png = RunDir.of(run.cell().runDir()).testEval().resolve(RunDir.CONFUSION);
        if (Files.isRegularFile(png)) {
            return Files.readAllBytes(png);
        }
        BufferedImage img = ConfusionMatrixPlot.render(run.test().confusionMatrix(), run.cell().label());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(img, "png", out)) {
            throw new IOException("no PNG writer available in this JRE");
        }
        return out.toByteArray();
    }

    private static String fileSafe(String s) {
        return s.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    // ---------------------------------------------------------------- CSV

    /** One row per group: the pooled groups, then (pool "development") the development split's. */
    private static String resultsCsv(ExperimentData d) {
        List<String> header = new ArrayList<>(List.of("arm", "subset", "pool", "split_seeds", "n_runs"));
        for (Metric m : METRICS) {
            header.add(m.key() + "_mean");
            header.add(m.key() + "_std");
        }
        for (String cls : d.classes) {
            header.add("f1_" + cls + "_mean");
        }
        for (String set : d.outsideSets) {
            header.add("eval_" + set + "_n_seeds");
            for (Metric m : OUTSIDE_METRICS) {
                header.add("eval_" + set + "_" + m.key() + "_mean");
                header.add("eval_" + set + "_" + m.key() + "_std");
            }
        }
        StringBuilder sb = new StringBuilder();
        csvLine(sb, header);
        for (Group g : allGroups(d)) {
            List<String> row = new ArrayList<>(List.of(g.arm(), g.subset(), pool(d, g), joined(g.splits()),
                    Integer.toString(g.runs().size())));
            for (Metric m : METRICS) {
                Stats s = g.stats(m);
                row.add(num(s.mean()));
                row.add(num(s.std()));
            }
            for (String cls : d.classes) {
                row.add(num(g.classF1(cls).mean()));
            }
            for (String set : d.outsideSets) {
                row.add(Integer.toString(g.outsideValues(set, Metric.ACCURACY).size()));
                for (Metric m : OUTSIDE_METRICS) {
                    Stats s = g.outside(set, m);
                    row.add(num(s.mean()));
                    row.add(num(s.std()));
                }
            }
            csvLine(sb, row);
        }
        return sb.toString();
    }

    private static List<Group> allGroups(ExperimentData d) {
        List<Group> all = new ArrayList<>(d.groups);
        all.addAll(d.developmentGroups);
        return all;
    }

    private static String pool(ExperimentData d, Group g) {
        return d.developmentGroups.contains(g) ? "development" : "pooled";
    }

    private static String joined(List<Long> values) {
        return String.join(" ", values.stream().map(String::valueOf).toList());
    }

    /** Per (arm, subset, split seed): the mean over that split's training seeds. */
    private static String splitsCsv(ExperimentData d) {
        List<String> header = new ArrayList<>(List.of("arm", "subset", "split_seed", "n_seeds"));
        METRICS.forEach(m -> header.add(m.key() + "_mean"));
        StringBuilder sb = new StringBuilder();
        csvLine(sb, header);
        for (Group g : allGroups(d)) {
            for (long split : g.splits()) {
                List<Run> rs = g.runsOf(split);
                if (rs.isEmpty()) {
                    continue;
                }
                List<String> row = new ArrayList<>(List.of(g.arm(), g.subset(), Long.toString(split),
                        Integer.toString(rs.size())));
                METRICS.forEach(m -> row.add(num(Stats.of(rs.stream().map(r -> m.of(r.test())).toList()).mean())));
                csvLine(sb, row);
            }
        }
        return sb.toString();
    }

    private static String runsCsv(ExperimentData d, Path outDir) {
        List<String> header = new ArrayList<>(List.of("arm", "subset", "split_seed", "seed"));
        METRICS.forEach(m -> header.add(m.key()));
        d.classes.forEach(cls -> header.add("f1_" + cls));
        for (String set : d.outsideSets) {
            OUTSIDE_METRICS.forEach(m -> header.add("eval_" + set + "_" + m.key()));
        }
        header.add("run_dir");
        StringBuilder sb = new StringBuilder();
        csvLine(sb, header);
        for (Run r : d.runs) {
            List<String> row = new ArrayList<>(List.of(r.cell().arm(), r.cell().subset(),
                    Long.toString(r.cell().splitSeed()), Long.toString(r.cell().seed())));
            METRICS.forEach(m -> row.add(num(m.of(r.test()))));
            d.classes.forEach(cls -> row.add(num(r.classF1(cls))));
            for (String set : d.outsideSets) {
                ClassificationMetrics o = r.outside().get(set);
                OUTSIDE_METRICS.forEach(m -> row.add(o == null ? "" : num(m.of(o))));
            }
            row.add(relative(outDir, r.cell().runDir()));
            csvLine(sb, row);
        }
        return sb.toString();
    }

    private static void csvLine(StringBuilder sb, List<String> fields) {
        for (int i = 0; i < fields.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            String f = fields.get(i);
            // RFC 4180 quoting: arm names and paths are free text.
            if (f.contains(",") || f.contains("\"") || f.contains("\n") || f.contains("\r")) {
                f = "\"" + f.replace("\"", "\"\"") + "\"";
            }
            sb.append(f);
        }
        sb.append('\n');
    }

    /** 8 significant digits: beyond what seeds can resolve, short enough to read; NaN becomes an empty field. */
    static String num(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "";
        }
        if (v == 0.0) {
            return "0";
        }
        return new BigDecimal(v).round(new MathContext(8)).stripTrailingZeros().toPlainString();
    }

    // ---------------------------------------------------------------- JSON

    private static ObjectNode resultsJson(ExperimentData d, String title, String generated, List<String> warnings,
                                          Path outDir, List<Figure> plots, List<Figure> confusions) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode root = f.objectNode();
        root.put("title", title);
        root.put("generated", generated);
        root.put("note", "accuracy and F1 are fractions; std is the sample (n-1) standard deviation over the runs "
                + "of a group (split seeds x training seeds), null for a single run; runDir is relative to this file's "
                + "folder; developmentGroups (split seed " + ExperimentSpec.DEVELOPMENT_SPLIT + ", when the grid also "
                + "has fresh splits) are never pooled with groups");
        strings(root.putArray("arms"), d.arms);
        strings(root.putArray("subsets"), d.subsets);
        strings(root.putArray("classes"), d.classes);
        strings(root.putArray("outsideSets"), d.outsideSets);

        groupsJson(root.putArray("groups"), d, d.groups);
        groupsJson(root.putArray("developmentGroups"), d, d.developmentGroups);
        ArrayNode vs = root.putArray("againstBaseline");
        for (Comparison c : againstBaseline(d)) {
            ObjectNode cn = vs.addObject();
            cn.put("arm", c.arm());
            cn.put("subset", c.subset());
            number(cn, "macroF1Difference", c.macroF1Difference());
            number(cn, "accuracyDifference", c.accuracyDifference());
            number(cn, "largerStd", c.largerStd());
            ObjectNode per = cn.putObject("macroF1DifferencePerSplit");
            c.perSplit().forEach((split, v) -> number(per, Long.toString(split), v));
            cn.put("verdict", c.verdict());
        }

        ArrayNode runs = root.putArray("runs");
        for (Run r : d.runs) {
            ObjectNode rn = runs.addObject();
            rn.put("arm", r.cell().arm());
            rn.put("subset", r.cell().subset());
            rn.put("splitSeed", r.cell().splitSeed());
            rn.put("seed", r.cell().seed());
            rn.put("runDir", relative(outDir, r.cell().runDir()));
            rn.set("test", Json.MAPPER.valueToTree(r.test()));
            if (!r.outside().isEmpty()) {
                ObjectNode out = rn.putObject("outside");
                r.outside().forEach((set, m) -> out.set(set, Json.MAPPER.valueToTree(m)));
            }
        }

        ObjectNode pub = root.putObject("published");
        pub.put("source", PublishedResults.SOURCE);
        strings(pub.putArray("subsets"), PublishedResults.SUBSETS);
        ObjectNode pubArms = pub.putObject("arms");
        for (String arm : PublishedResults.ARMS) {
            ObjectNode an = pubArms.putObject(arm);
            for (Metric m : METRICS) {
                ArrayNode vals = an.putArray(m.jsonKey());
                PublishedResults.SUBSETS.forEach(s -> vals.add(PublishedResults.value(arm, m, s).getAsDouble()));
            }
        }

        ArrayNode missing = root.putArray("missing");
        for (Missing m : d.missing) {
            ObjectNode mn = missing.addObject();
            mn.put("arm", m.cell().arm());
            mn.put("subset", m.cell().subset());
            mn.put("splitSeed", m.cell().splitSeed());
            mn.put("seed", m.cell().seed());
            mn.put("runDir", relative(outDir, m.cell().runDir()));
            mn.put("reason", m.reason());
        }
        figuresJson(root.putArray("plots"), plots);
        figuresJson(root.putArray("confusionMatrices"), confusions);
        strings(root.putArray("warnings"), warnings);
        return root;
    }

    private static void figuresJson(ArrayNode array, List<Figure> figures) {
        figures.forEach(f -> array.addObject().put("path", f.relPath()).put("caption", f.caption()));
    }

    private static void groupsJson(ArrayNode groups, ExperimentData d, List<Group> list) {
        for (Group g : list) {
            ObjectNode gn = groups.addObject();
            gn.put("arm", g.arm());
            gn.put("subset", g.subset());
            gn.put("nRuns", g.runs().size());
            ArrayNode splits = gn.putArray("splitSeeds");
            g.splitSeeds().forEach(splits::add);
            ArrayNode seeds = gn.putArray("seeds");
            g.seeds().forEach(seeds::add);
            ArrayNode missingRuns = gn.putArray("missing");
            g.missing().forEach(m -> missingRuns.addObject().put("splitSeed", m.cell().splitSeed()).put("seed", m.cell().seed()));
            ArrayNode perSplit = gn.putArray("perSplit");
            for (long split : g.splits()) {
                List<Run> rs = g.runsOf(split);
                if (rs.isEmpty()) {
                    continue;
                }
                ObjectNode sn = perSplit.addObject();
                sn.put("splitSeed", split);
                sn.put("nSeeds", rs.size());
                for (Metric m : METRICS) {
                    number(sn, m.jsonKey(), Stats.of(rs.stream().map(r -> m.of(r.test())).toList()).mean());
                }
            }
            for (Metric m : METRICS) {
                stats(gn.putObject(m.jsonKey()), g.stats(m), g.values(m));
            }
            ObjectNode pc = gn.putObject("perClassF1");
            for (String cls : d.classes) {
                stats(pc.putObject(cls), g.classF1(cls), g.classF1Values(cls));
            }
            if (!d.outsideSets.isEmpty()) {
                ObjectNode out = gn.putObject("outside");
                for (String set : d.outsideSets) {
                    ObjectNode sn = out.putObject(set);
                    sn.put("nSeeds", g.outsideValues(set, Metric.ACCURACY).size());
                    for (Metric m : METRICS) {
                        stats(sn.putObject(m.jsonKey()), g.outside(set, m), g.outsideValues(set, m));
                    }
                }
            }
            Optional<String> match = PublishedResults.matchFor(g.arm());
            if (match.isPresent() && PublishedResults.SUBSETS.contains(g.subset())) {
                ObjectNode pub = gn.putObject("published");
                pub.put("arm", match.get());
                ObjectNode diff = gn.putObject("differenceToPublished");
                for (Metric m : METRICS) {
                    double p = PublishedResults.value(match.get(), m, g.subset()).orElse(Double.NaN);
                    number(pub, m.jsonKey(), p);
                    number(diff, m.jsonKey(), g.stats(m).mean() - p);
                }
            }
        }
    }

    private static void strings(ArrayNode array, List<String> values) {
        values.forEach(array::add);
    }

    private static void stats(ObjectNode node, Stats s, List<Double> values) {
        number(node, "mean", s.mean());
        number(node, "std", s.std());
        ArrayNode vals = node.putArray("values");
        values.forEach(vals::add);
    }

    /** NaN is not valid JSON; undefined values are written as null like in metrics.json. */
    private static void number(ObjectNode node, String key, double v) {
        if (Double.isFinite(v)) {
            node.put(key, v);
        } else {
            node.putNull(key);
        }
    }

    // ---------------------------------------------------------------- tables shared by Markdown and HTML

    private static String meanStd(Group g, Metric m) {
        Stats s = g.stats(m);
        if (s.n() == 0) {
            return NONE;
        }
        String text = m.format(s.mean());
        if (!Double.isNaN(s.std())) {
            text += PM + m.format(s.std());
        }
        int planned = g.runs().size() + g.missing().size();
        // "(2 of 3)" flags a mean taken over fewer runs than were planned; "(3×1)" is split seeds x
        // training seeds, shown when a group pools several splits.
        if (planned > s.n()) {
            return text + " (" + s.n() + " of " + planned + ")";
        }
        int splits = g.splits().size();
        int seeds = g.trainingSeeds().size();
        return text + (splits > 1 && splits * seeds == s.n() ? " (" + splits + "\u00D7" + seeds + ")" : " (" + s.n() + ")");
    }

    private static String meanStdShort(Stats s, Metric m) {
        if (s.n() == 0) {
            return NONE;
        }
        return Double.isNaN(s.std()) ? m.format(s.mean()) : m.format(s.mean()) + PM + m.format(s.std());
    }

    private static Table resultsTable(ExperimentData d, List<Group> groups) {
        List<String> header = new ArrayList<>(List.of("Arm", "Metric"));
        header.addAll(d.subsets);
        Table.Builder t = Table.builder(header, 2);
        for (String arm : d.arms) {
            if (groups.stream().noneMatch(g -> g.arm().equals(arm))) {
                continue;
            }
            for (Metric m : METRICS) {
                List<Object> row = new ArrayList<>(List.of(arm, m.label()));
                for (String subset : d.subsets) {
                    Optional<Group> g = groups.stream().filter(x -> x.arm().equals(arm) && x.subset().equals(subset)).findFirst();
                    row.add(g.map(x -> meanStd(x, m)).orElse(NONE));
                }
                t.row(row);
            }
        }
        return t.build();
    }

    /** What the split seeds of the pooled groups are, for the sentence above the results table. */
    private static String splitNote(ExperimentData d) {
        TreeSet<Long> splits = new TreeSet<>();
        d.groups.forEach(g -> splits.addAll(g.splits()));
        if (splits.isEmpty()) {
            return "";
        }
        String which = splits.size() == 1 ? "split seed " + splits.first() : "split seeds " + joined(List.copyOf(splits));
        return " Runs pool " + which + (splits.contains(ExperimentSpec.DEVELOPMENT_SPLIT)
                ? " (split seed " + ExperimentSpec.DEVELOPMENT_SPLIT + " is the development split: its test figures have "
                + "been looked at many times)." : ".");
    }

    /** Per (arm, subset, split seed): the split's mean over training seeds. */
    private static Table perSplitTable(ExperimentData d) {
        Table.Builder t = Table.builder(List.of("Arm", "Subset", "Split seed", "Seeds", "Test accuracy (%)", "Macro F1"), 3);
        for (Group g : allGroups(d)) {
            for (long split : g.splits()) {
                List<Run> rs = g.runsOf(split);
                if (rs.isEmpty()) {
                    continue;
                }
                t.row(List.of(g.arm(), g.subset(), Long.toString(split), Integer.toString(rs.size()),
                        Metric.ACCURACY.format(Stats.of(rs.stream().map(r -> r.test().accuracy()).toList()).mean()),
                        Metric.MACRO_F1.format(Stats.of(rs.stream().map(r -> r.test().macroF1()).toList()).mean())));
            }
        }
        return t.build();
    }

    /**
     * An arm against the baseline on one budget, over the pooled runs: the difference of the means,
     * the larger of the two sample stds, the paired per-split differences and the verdict.
     */
    record Comparison(String arm, String subset, double macroF1Difference, double accuracyDifference, double largerStd,
                      Map<Long, Double> perSplit, String verdict) {}

    static List<Comparison> againstBaseline(ExperimentData d) {
        List<Comparison> out = new ArrayList<>();
        for (Group g : d.groups) {
            if (g.arm().equals(BASELINE_ARM) || g.runs().isEmpty()) {
                continue;
            }
            Optional<Group> base = d.groups.stream()
                    .filter(b -> b.arm().equals(BASELINE_ARM) && b.subset().equals(g.subset()) && !b.runs().isEmpty())
                    .findFirst();
            if (base.isEmpty()) {
                continue;
            }
            Stats a = g.stats(Metric.MACRO_F1);
            Stats b = base.get().stats(Metric.MACRO_F1);
            double diff = a.mean() - b.mean();
            double spread = Math.max(a.std(), b.std());
            Map<Long, Double> perSplit = new java.util.TreeMap<>();
            for (long split : g.splits()) {
                List<Run> ga = g.runsOf(split);
                List<Run> gb = base.get().runsOf(split);
                if (!ga.isEmpty() && !gb.isEmpty()) {
                    perSplit.put(split, Stats.of(ga.stream().map(r -> r.test().macroF1()).toList()).mean()
                            - Stats.of(gb.stream().map(r -> r.test().macroF1()).toList()).mean());
                }
            }
            String verdict = Double.isNaN(spread) ? "one run each: no spread to compare with"
                    : diff > spread ? "lead kept: larger than the spread"
                    : diff > 0 ? "lead not confirmed: within the spread" : "lead lost: at or below the baseline";
            out.add(new Comparison(g.arm(), g.subset(), diff,
                    g.stats(Metric.ACCURACY).mean() - base.get().stats(Metric.ACCURACY).mean(), spread, perSplit, verdict));
        }
        return out;
    }

    private static Table againstBaselineTable(List<Comparison> comparisons) {
        Table.Builder t = Table.builder(List.of("Arm", "Subset", "\u0394 macro F1", "\u0394 accuracy (pp)",
                "Larger std (macro F1)", "\u0394 macro F1 per split seed", "Verdict"), 2);
        for (Comparison c : comparisons) {
            List<String> per = new ArrayList<>();
            c.perSplit().forEach((split, v) -> per.add(split + ": " + Metric.MACRO_F1.formatDifference(v)));
            t.row(List.of(c.arm(), c.subset(), Metric.MACRO_F1.formatDifference(c.macroF1Difference()),
                    Metric.ACCURACY.formatDifference(c.accuracyDifference()),
                    Double.isNaN(c.largerStd()) ? NONE : Metric.MACRO_F1.format(c.largerStd()),
                    String.join(", ", per), c.verdict()));
        }
        return t.build();
    }

    private static Table publishedTable() {
        List<String> header = new ArrayList<>(List.of("Arm", "Metric"));
        header.addAll(PublishedResults.SUBSETS);
        Table.Builder t = Table.builder(header, 2);
        for (String arm : PublishedResults.ARMS) {
            for (Metric m : METRICS) {
                List<Object> row = new ArrayList<>(List.of(arm, m.label()));
                for (String subset : PublishedResults.SUBSETS) {
                    row.add(PublishedResults.format(m, PublishedResults.value(arm, m, subset).getAsDouble()));
                }
                t.row(row);
            }
        }
        return t.build();
    }

    private static Table differenceTable(ExperimentData d) {
        List<String> header = new ArrayList<>(List.of("Arm", "Published arm", "Metric"));
        header.addAll(PublishedResults.SUBSETS);
        Table.Builder t = Table.builder(header, 3);
        for (String arm : d.arms) {
            Optional<String> match = PublishedResults.matchFor(arm);
            if (match.isEmpty()) {
                continue;
            }
            for (Metric m : METRICS) {
                String label = m == Metric.ACCURACY ? "Test accuracy (pp)" : m.label();
                List<Object> row = new ArrayList<>(List.of(arm, match.get(), label));
                for (String subset : PublishedResults.SUBSETS) {
                    Stats s = d.group(arm, subset).map(g -> g.stats(m)).orElse(Stats.EMPTY);
                    OptionalDouble p = PublishedResults.value(match.get(), m, subset);
                    row.add(s.n() == 0 || p.isEmpty() ? NONE : m.formatDifference(s.mean() - p.getAsDouble()));
                }
                t.row(row);
            }
        }
        return t.build();
    }

    private static Table perClassTable(ExperimentData d) {
        List<String> header = new ArrayList<>(List.of("Arm", "Subset", "Runs"));
        header.addAll(d.classes);
        Table.Builder t = Table.builder(header, 2);
        for (Group g : d.groups) {
            if (g.runs().isEmpty()) {
                continue;
            }
            List<Object> row = new ArrayList<>(List.of(g.arm(), g.subset(), Integer.toString(g.runs().size())));
            for (String cls : d.classes) {
                row.add(meanStdShort(g.classF1(cls), Metric.MACRO_F1));
            }
            t.row(row);
        }
        return t.build();
    }

    private static Table outsideTable(ExperimentData d, String set) {
        Table.Builder t = Table.builder(List.of("Arm", "Subset", "Seeds", "Accuracy (%)", "Macro F1"), 2);
        for (Group g : d.groups) {
            List<Double> acc = g.outsideValues(set, Metric.ACCURACY);
            if (acc.isEmpty()) {
                continue;
            }
            t.row(List.of(g.arm(), g.subset(), Integer.toString(acc.size()),
                    meanStdShort(g.outside(set, Metric.ACCURACY), Metric.ACCURACY),
                    meanStdShort(g.outside(set, Metric.MACRO_F1), Metric.MACRO_F1)));
        }
        return t.build();
    }

    private static Table runsTable(ExperimentData d, Path outDir) {
        List<String> header = new ArrayList<>(List.of("Arm", "Subset", "Split seed", "Seed"));
        METRICS.forEach(m -> header.add(m.label()));
        d.classes.forEach(cls -> header.add("F1 " + cls));
        header.add("Run directory");
        Table.Builder t = Table.builder(header, 2);
        for (Run r : d.runs) {
            List<Object> row = new ArrayList<>(List.of(r.cell().arm(), r.cell().subset(),
                    Long.toString(r.cell().splitSeed()), Long.toString(r.cell().seed())));
            METRICS.forEach(m -> row.add(m.format(m.of(r.test()))));
            d.classes.forEach(cls -> row.add(Metric.MACRO_F1.format(r.classF1(cls))));
            row.add(runDirLink(outDir, r.cell()));
            t.row(row);
        }
        return t.build();
    }

    private static Table missingTable(ExperimentData d, Path outDir) {
        Table.Builder t = Table.builder(List.of("Arm", "Subset", "Split seed", "Seed", "Reason", "Run directory"), 6);
        for (Missing m : d.missing) {
            t.row(List.of(m.cell().arm(), m.cell().subset(), Long.toString(m.cell().splitSeed()),
                    Long.toString(m.cell().seed()), m.reason(),
                    runDirLink(outDir, m.cell())));
        }
        return t.build();
    }

    /** Relative links keep the report valid when the whole experiment folder is moved or copied. */
    private static Link runDirLink(Path outDir, Cell c) {
        String rel = relative(outDir, c.runDir());
        return new Link(rel, uriPath(rel + "/"));
    }

    /** A run directory relative to the report's folder: reports are copied and committed, machine paths are not. */
    static String relative(Path outDir, Path runDir) {
        Path base = outDir.toAbsolutePath().normalize();
        Path target = runDir.toAbsolutePath().normalize();
        String rel;
        try {
            rel = base.relativize(target).toString().replace('\\', '/');
        } catch (IllegalArgumentException e) {
            // Different roots (e.g. another Windows drive): an absolute path is the best we can do.
            rel = target.toString().replace('\\', '/');
        }
        return rel.isEmpty() ? "." : rel;
    }

    private static String uriPath(String path) {
        try {
            return new URI(null, null, path, null).toASCIIString();
        } catch (URISyntaxException e) {
            return path.replace(" ", "%20");
        }
    }

    // ---------------------------------------------------------------- Markdown

    private static String markdown(ExperimentData d, String title, String generated, Path outDir, List<Figure> plots,
                                   List<Figure> confusions, List<String> warnings) {
        StringBuilder sb = new StringBuilder();
        sb.append("# ").append(Table.md(title)).append("\n\n");
        sb.append("Generated ").append(generated).append(" from ").append(d.runs.size()).append(" finished run(s); ")
                .append(d.missing.size()).append(" planned cell(s) missing.\n\n");
        sb.append("## Results on the test split\n\n");
        sb.append("Mean \u00B1 sample standard deviation over runs (number of runs, or split seeds \u00D7 training seeds "
                + "when several splits are pooled; \"n of m\" when runs are missing). Accuracy in percent.")
                .append(splitNote(d)).append("\n\n");
        sb.append(resultsTable(d, d.groups).markdown()).append('\n');
        List<Comparison> vs = againstBaseline(d);
        if (!vs.isEmpty()) {
            sb.append("## Against the baseline\n\n").append(AGAINST_BASELINE_NOTE).append("\n\n");
            sb.append(againstBaselineTable(vs).markdown()).append('\n');
        }
        if (!d.developmentGroups.isEmpty()) {
            sb.append("## Development split (split seed ").append(ExperimentSpec.DEVELOPMENT_SPLIT).append(")\n\n")
                    .append(DEVELOPMENT_NOTE).append("\n\n");
            sb.append(resultsTable(d, d.developmentGroups).markdown()).append('\n');
        }
        if (allGroups(d).stream().anyMatch(g -> g.splits().size() > 1) || !d.developmentGroups.isEmpty()) {
            sb.append("## Per split seed\n\nMean over each split's training seeds.\n\n");
            sb.append(perSplitTable(d).markdown()).append('\n');
        }
        sb.append("## Published results\n\n").append(PublishedResults.SOURCE)
                .append(". Shown with the precision the study printed.\n\n");
        sb.append(publishedTable().markdown()).append('\n');
        sb.append("## Difference to the published results (ours \u2212 published)\n\n");
        Table diff = differenceTable(d);
        if (diff.isEmpty()) {
            sb.append("No arm matches a published arm (baseline \u2194 Baseline, enhanced* \u2194 Enhanced).\n\n");
        } else {
            sb.append("Accuracy in percentage points; published F1 scores have two decimals, so F1 differences "
                    + "carry up to \u00B10.005 of rounding.\n\n");
            sb.append(diff.markdown()).append('\n');
        }
        sb.append("## Per-class F1 on the test split\n\n");
        Table perClass = perClassTable(d);
        sb.append(perClass.isEmpty() ? "No finished runs.\n\n" : "Mean \u00B1 sample std over seeds.\n\n" + perClass.markdown() + "\n");
        if (!d.outsideSets.isEmpty()) {
            sb.append("## Outside test sets\n\n");
            for (String set : d.outsideSets) {
                sb.append("### ").append(Table.md(set)).append(" (eval-").append(Table.md(set)).append(")\n\n");
                sb.append(outsideTable(d, set).markdown()).append('\n');
            }
        }
        sb.append("## Plots\n\n");
        for (Figure p : plots) {
            sb.append("![").append(Table.md(p.caption())).append("](").append(uriPath(p.relPath())).append(")\n\n");
        }
        if (!confusions.isEmpty()) {
            sb.append("Confusion matrices:\n\n");
            for (Figure c : confusions) {
                sb.append("- [").append(Table.md(c.caption())).append("](").append(uriPath(c.relPath())).append(")\n");
            }
            sb.append('\n');
        }
        sb.append("## Runs\n\n");
        Table runs = runsTable(d, outDir);
        sb.append(runs.isEmpty() ? "No finished runs.\n\n" : runs.markdown() + "\n");
        sb.append("## Missing cells\n\n");
        sb.append(d.missing.isEmpty() ? "None: every planned cell has test metrics.\n" : missingTable(d, outDir).markdown());
        if (!warnings.isEmpty()) {
            sb.append("\n## Warnings\n\n");
            warnings.forEach(w -> sb.append("- ").append(Table.md(w)).append('\n'));
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- HTML

    private static final String CSS = """
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1200px;
            padding:0 1em;color:#222;line-height:1.4}
            h1{border-bottom:2px solid #1f77b4;padding-bottom:.2em}
            h2{margin-top:2em;border-bottom:1px solid #ddd}
            table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.92em}
            th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;white-space:nowrap}
            th{background:#f0f4f8}
            tr:nth-child(even) td{background:#fafafa}
            .num{text-align:right;font-variant-numeric:tabular-nums}
            .note{color:#555;font-size:.92em}
            .missing{color:#b00020}
            figure{margin:1em 0}
            figure img{max-width:100%;border:1px solid #ddd}
            .grid{display:flex;flex-wrap:wrap;gap:1em}
            .grid figure{width:360px;margin:0}
            .grid img{width:100%}
            figcaption{font-size:.9em;color:#444}
            """;

    private static String html(ExperimentData d, String title, String generated, Path outDir, List<Figure> plots,
                               List<Figure> confusions, List<String> warnings) {
        StringBuilder sb = new StringBuilder();
        sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
                .append(esc(title)).append("</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
        sb.append("<h1>").append(esc(title)).append("</h1>\n");
        sb.append("<p class=\"note\">Generated ").append(esc(generated)).append(" from ").append(d.runs.size())
                .append(" finished run(s); ");
        sb.append(d.missing.isEmpty() ? "no planned cell is missing." :
                "<span class=\"missing\">" + d.missing.size() + " planned cell(s) missing</span> (listed at the end).");
        sb.append("</p>\n");

        sb.append("<h2>Results on the test split</h2>\n<p class=\"note\">Mean \u00B1 sample standard deviation over "
                + "runs (number of runs, or split seeds \u00D7 training seeds when several splits are pooled; &quot;n of "
                + "m&quot; when runs are missing). Accuracy in percent.").append(esc(splitNote(d))).append("</p>\n");
        sb.append(resultsTable(d, d.groups).html());
        List<Comparison> vs = againstBaseline(d);
        if (!vs.isEmpty()) {
            sb.append("<h2>Against the baseline</h2>\n<p class=\"note\">").append(esc(AGAINST_BASELINE_NOTE))
                    .append("</p>\n").append(againstBaselineTable(vs).html());
        }
        if (!d.developmentGroups.isEmpty()) {
            sb.append("<h2>Development split (split seed ").append(ExperimentSpec.DEVELOPMENT_SPLIT)
                    .append(")</h2>\n<p class=\"note\">").append(esc(DEVELOPMENT_NOTE)).append("</p>\n")
                    .append(resultsTable(d, d.developmentGroups).html());
        }
        if (allGroups(d).stream().anyMatch(g -> g.splits().size() > 1) || !d.developmentGroups.isEmpty()) {
            sb.append("<h2>Per split seed</h2>\n").append(perSplitTable(d).html());
        }
        sb.append("<h2>Published results</h2>\n<p class=\"note\">").append(esc(PublishedResults.SOURCE))
                .append(". Shown with the precision the study printed.</p>\n");
        sb.append(publishedTable().html());
        sb.append("<h2>Difference to the published results (ours \u2212 published)</h2>\n");
        Table diff = differenceTable(d);
        if (diff.isEmpty()) {
            sb.append("<p>No arm matches a published arm (baseline \u2194 Baseline, enhanced* \u2194 Enhanced).</p>\n");
        } else {
            sb.append("<p class=\"note\">Accuracy in percentage points; published F1 scores have two decimals, so F1 "
                    + "differences carry up to \u00B10.005 of rounding.</p>\n").append(diff.html());
        }

        sb.append("<h2>Plots</h2>\n");
        for (Figure p : plots) {
            sb.append(figure(p));
        }

        sb.append("<h2>Per-class F1 on the test split</h2>\n");
        Table perClass = perClassTable(d);
        sb.append(perClass.isEmpty() ? "<p>No finished runs.</p>\n"
                : "<p class=\"note\">Mean \u00B1 sample std over seeds.</p>\n" + perClass.html());

        if (!d.outsideSets.isEmpty()) {
            sb.append("<h2>Outside test sets</h2>\n");
            for (String set : d.outsideSets) {
                sb.append("<h3>").append(esc(set)).append(" <span class=\"note\">(eval-").append(esc(set))
                        .append(")</span></h3>\n").append(outsideTable(d, set).html());
            }
        }

        if (!confusions.isEmpty()) {
            sb.append("<h2>Confusion matrices</h2>\n");
            // One collapsible block per arm keeps dozens of matrices from burying the tables.
            for (String arm : d.arms) {
                List<Figure> mine = new ArrayList<>();
                for (int i = 0; i < d.runs.size(); i++) {
                    if (d.runs.get(i).cell().arm().equals(arm)) {
                        mine.add(confusions.get(i));
                    }
                }
                if (mine.isEmpty()) {
                    continue;
                }
                sb.append("<details><summary>").append(esc(arm)).append(" (").append(mine.size())
                        .append(" runs)</summary>\n<div class=\"grid\">\n");
                mine.forEach(f -> sb.append(figure(f)));
                sb.append("</div>\n</details>\n");
            }
        }

        sb.append("<h2>Runs</h2>\n");
        Table runs = runsTable(d, outDir);
        sb.append(runs.isEmpty() ? "<p>No finished runs.</p>\n" : runs.html());
        sb.append("<h2>Missing cells</h2>\n");
        sb.append(d.missing.isEmpty() ? "<p>None: every planned cell has test metrics.</p>\n"
                : "<div class=\"missing\">" + missingTable(d, outDir).html() + "</div>\n");
        if (!warnings.isEmpty()) {
            sb.append("<h2>Warnings</h2>\n<ul>\n");
            warnings.forEach(w -> sb.append("<li>").append(esc(w)).append("</li>\n"));
            sb.append("</ul>\n");
        }
        sb.append("</body>\n</html>\n");
        return sb.toString();
    }

    private static String figure(Figure f) {
        return "<figure><img alt=\"" + esc(f.caption()) + "\" src=\"data:image/png;base64,"
                + Base64.getEncoder().encodeToString(f.png()) + "\"><figcaption>" + esc(f.caption())
                + "</figcaption></figure>\n";
    }

    private static String esc(String s) {
        return Table.Html.escape(s);
    }
}
