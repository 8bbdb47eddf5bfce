package org.wbctransfer.experiment;

import static org.wbctransfer.experiment.ExperimentReport.*;
import static org.wbctransfer.experiment.ReportTables.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.wbctransfer.evaluation.ClassificationMetrics;
import org.wbctransfer.experiment.ExperimentData.Group;
import org.wbctransfer.experiment.ExperimentData.Missing;
import org.wbctransfer.experiment.ExperimentData.Run;
import org.wbctransfer.util.Json;

/**
 * results.json: every run's test metrics, the groups' statistics, the comparison with the baseline
 * and the published table, and everything results.md shows, so that results.md can be rebuilt from it.
 */
final class ReportJson {

    private ReportJson() {}
    /** What results.md is made of, read back from results.json. */
    record Read(ExperimentData data, String title, String generated, List<Figure> plots, List<Figure> confusions,
                List<String> warnings) {}

    static Read read(JsonNode root, Path outDir) throws IOException {
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
        Map<String, String> notes = new LinkedHashMap<>();
        JsonNode n = root.get("armNotes");
        if (n != null) {
            n.fields().forEachRemaining(e -> notes.put(e.getKey(), e.getValue().asText()));
        }
        return new Read(ExperimentData.of(arms, runs, missing, warnings, notes), root.get("title").asText(),
                root.get("generated").asText(), figureRefs(root.get("plots")), figureRefs(root.get("confusionMatrices")),
                warnings);
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

    static ObjectNode resultsJson(ExperimentData d, String title, String generated, List<String> warnings,
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
        ObjectNode notes = root.putObject("armNotes");
        d.armNotes.forEach(notes::put);

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
            ObjectNode rn = cellJson(runs.addObject(), r.cell(), outDir);
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
            cellJson(missing.addObject(), m.cell(), outDir).put("reason", m.reason());
        }
        figuresJson(root.putArray("plots"), plots);
        figuresJson(root.putArray("confusionMatrices"), confusions);
        strings(root.putArray("warnings"), warnings);
        return root;
    }

    /** A cell as {@link #cellOf} reads it back. */
    private static ObjectNode cellJson(ObjectNode n, Cell c, Path outDir) {
        return n.put("arm", c.arm()).put("subset", c.subset()).put("splitSeed", c.splitSeed()).put("seed", c.seed())
                .put("runDir", relative(outDir, c.runDir()));
    }

    static void figuresJson(ArrayNode array, List<Figure> figures) {
        figures.forEach(f -> array.addObject().put("path", f.relPath()).put("caption", f.caption()));
    }

    static void groupsJson(ArrayNode groups, ExperimentData d, List<Group> list) {
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
                int n = g.splitStats(split, Metric.ACCURACY).n();
                if (n == 0) {
                    continue;
                }
                ObjectNode sn = perSplit.addObject();
                sn.put("splitSeed", split);
                sn.put("nSeeds", n);
                for (Metric m : METRICS) {
                    number(sn, m.jsonKey(), g.splitStats(split, m).mean());
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

    static void strings(ArrayNode array, List<String> values) {
        values.forEach(array::add);
    }

    static void stats(ObjectNode node, Stats s, List<Double> values) {
        number(node, "mean", s.mean());
        number(node, "std", s.std());
        ArrayNode vals = node.putArray("values");
        values.forEach(vals::add);
    }

    /** NaN is not valid JSON; undefined values are written as null like in metrics.json. */
    static void number(ObjectNode node, String key, double v) {
        if (Double.isFinite(v)) {
            node.put(key, v);
        } else {
            node.putNull(key);
        }
    }

}
