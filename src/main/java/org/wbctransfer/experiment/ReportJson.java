package org.wbctransfer.experiment;

import static org.wbctransfer.experiment.ReportTables.*;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.wbctransfer.evaluation.ClassificationMetrics;
import org.wbctransfer.experiment.ExperimentData.Group;
import org.wbctransfer.experiment.ExperimentData.Missing;
import org.wbctransfer.experiment.ExperimentData.Run;
import org.wbctransfer.util.Json;

/**
 * results.json: every run's test metrics, the groups' statistics, the comparison with the baseline
 * and the published table, and everything results.md shows, so that results.md can be rebuilt from it.
 * Written by Jackson from the records below, in their component order; undefined values (NaN) are null.
 */
final class ReportJson {

    private ReportJson() {}

    record Results(String title, String generated, String note, List<String> arms, List<String> subsets,
            List<String> classes, List<String> outsideSets, Map<String, String> armNotes, List<GroupJson> groups,
            List<GroupJson> developmentGroups, List<VersusBaseline> againstBaseline, List<RunJson> runs,
            Published published, List<MissingJson> missing, List<FigureJson> plots,
            List<FigureJson> confusionMatrices, List<String> warnings) {}

    record RunJson(String arm, String subset, long splitSeed, long seed, String runDir, ClassificationMetrics test,
            @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, ClassificationMetrics> outside,
            @JsonInclude(JsonInclude.Include.NON_NULL) ExperimentData.Unsure unsure,
            @JsonInclude(JsonInclude.Include.NON_NULL) Double trainingMinutes) {}

    record MissingJson(String arm, String subset, long splitSeed, long seed, String runDir, String reason) {}

    record FigureJson(String path, String caption) {}

    record VersusBaseline(String arm, String subset, Double macroF1Difference, Double accuracyDifference,
            Double largerStd, Map<String, Double> macroF1DifferencePerSplit, String verdict) {}

    record Published(String source, List<String> subsets, Map<String, ByMetric<List<Double>>> arms) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record GroupJson(String arm, String subset, int nRuns, List<Long> splitSeeds, List<Long> seeds,
            List<SeedJson> missing, List<SplitJson> perSplit, @JsonUnwrapped ByMetric<StatsJson> stats,
            Map<String, StatsJson> perClassF1, Map<String, OutsideJson> outside, PublishedMatch published,
            ByMetric<Double> differenceToPublished) {}

    record SeedJson(long splitSeed, long seed) {}

    record SplitJson(long splitSeed, int nSeeds, @JsonUnwrapped ByMetric<Double> means) {}

    record OutsideJson(int nSeeds, @JsonUnwrapped ByMetric<StatsJson> stats) {}

    record PublishedMatch(String arm, @JsonUnwrapped ByMetric<Double> values) {}

    record StatsJson(Double mean, Double std, List<Double> values) {
        static StatsJson of(Stats s, List<Double> values) {
            return new StatsJson(number(s.mean()), number(s.std()), values);
        }
    }

    /** One value per headline metric, as fields named by {@link Metric#jsonKey()}. */
    record ByMetric<T>(@JsonIgnore Map<String, T> values) {
        static <T> ByMetric<T> of(Function<Metric, T> value) {
            Map<String, T> m = new LinkedHashMap<>();
            METRICS.forEach(metric -> m.put(metric.jsonKey(), value.apply(metric)));
            return new ByMetric<>(m);
        }

        @JsonAnyGetter
        Map<String, T> fields() {
            return values;
        }
    }

    /** What results.md is made of, read back from results.json. */
    record Read(ExperimentData data, String title, String generated, List<Figure> plots, List<Figure> confusions,
                List<String> warnings) {}

    /** The parts of a results.json that results.md is rebuilt from. */
    private record Saved(String title, String generated, List<String> arms, Map<String, String> armNotes,
            List<RunJson> runs, List<MissingJson> missing, List<FigureJson> plots, List<FigureJson> confusionMatrices,
            List<String> warnings) {}

    static Read read(JsonNode root, Path outDir) throws IOException {
        Saved s = Json.MAPPER.treeToValue(root, Saved.class);
        List<Run> runs = s.runs().stream().map(r -> new Run(cell(r.arm(), r.subset(), r.splitSeed(), r.seed(),
                r.runDir(), outDir), r.test(), r.outside() != null ? r.outside() : Map.of(), r.unsure(), r.trainingMinutes())).toList();
        List<Missing> missing = s.missing().stream().map(m -> new Missing(cell(m.arm(), m.subset(), m.splitSeed(),
                m.seed(), m.runDir(), outDir), m.reason())).toList();
        return new Read(ExperimentData.of(s.arms(), runs, missing, s.warnings(),
                s.armNotes() != null ? s.armNotes() : Map.of()), s.title(), s.generated(), figures(s.plots()),
                figures(s.confusionMatrices()), s.warnings());
    }

    private static Cell cell(String arm, String subset, long splitSeed, long seed, String runDir, Path outDir) {
        return new Cell(arm, subset, splitSeed, seed, outDir.resolve(runDir).normalize());
    }

    private static List<Figure> figures(List<FigureJson> refs) {
        return refs.stream().map(f -> new Figure(f.path(), f.caption(), null)).toList();
    }

    static Results resultsJson(ExperimentData d, String title, String generated, List<String> warnings,
                                          Path outDir, List<Figure> plots, List<Figure> confusions) {
        String note = "accuracy and F1 are fractions; std is the sample (n-1) standard deviation over the runs "
                + "of a group (split seeds x training seeds), null for a single run; runDir is relative to this file's "
                + "folder; developmentGroups (split seed " + ExperimentSpec.DEVELOPMENT_SPLIT + ", when the grid also "
                + "has fresh splits) are never pooled with groups";
        List<VersusBaseline> vs = againstBaseline(d).stream().map(c -> {
            Map<String, Double> perSplit = new LinkedHashMap<>();
            c.perSplit().forEach((split, v) -> perSplit.put(Long.toString(split), number(v)));
            return new VersusBaseline(c.arm(), c.subset(), number(c.macroF1Difference()),
                    number(c.accuracyDifference()), number(c.largerStd()), perSplit, c.verdict());
        }).toList();
        List<RunJson> runs = d.runs.stream().map(r -> new RunJson(r.cell().arm(), r.cell().subset(),
                r.cell().splitSeed(), r.cell().seed(), relative(outDir, r.cell().runDir()), r.test(), r.outside(), r.unsure(), r.minutes()))
                .toList();
        Map<String, ByMetric<List<Double>>> publishedArms = new LinkedHashMap<>();
        for (String arm : PublishedResults.ARMS) {
            publishedArms.put(arm, ByMetric.of(m -> PublishedResults.SUBSETS.stream()
                    .map(s -> PublishedResults.value(arm, m, s).getAsDouble()).toList()));
        }
        List<MissingJson> missing = d.missing.stream().map(m -> new MissingJson(m.cell().arm(), m.cell().subset(),
                m.cell().splitSeed(), m.cell().seed(), relative(outDir, m.cell().runDir()), m.reason())).toList();
        return new Results(title, generated, note, d.arms, d.subsets, d.classes, d.outsideSets, d.armNotes,
                groups(d, d.groups), groups(d, d.developmentGroups), vs, runs,
                new Published(PublishedResults.SOURCE, PublishedResults.SUBSETS, publishedArms), missing,
                figureRefs(plots), figureRefs(confusions), warnings);
    }

    private static List<FigureJson> figureRefs(List<Figure> figures) {
        return figures.stream().map(f -> new FigureJson(f.relPath(), f.caption())).toList();
    }

    private static List<GroupJson> groups(ExperimentData d, List<Group> groups) {
        return groups.stream().map(g -> group(d, g)).toList();
    }

    private static GroupJson group(ExperimentData d, Group g) {
        List<SplitJson> perSplit = g.splits().stream().filter(split -> g.splitStats(split, Metric.ACCURACY).n() > 0)
                .map(split -> new SplitJson(split, g.splitStats(split, Metric.ACCURACY).n(),
                        ByMetric.of(m -> number(g.splitStats(split, m).mean())))).toList();
        Map<String, StatsJson> perClass = new LinkedHashMap<>();
        d.classes.forEach(cls -> perClass.put(cls, StatsJson.of(g.classF1(cls), g.classF1Values(cls))));
        Map<String, OutsideJson> outside = null;
        if (!d.outsideSets.isEmpty()) {
            outside = new LinkedHashMap<>();
            for (String set : d.outsideSets) {
                outside.put(set, new OutsideJson(g.outsideValues(set, Metric.ACCURACY).size(),
                        ByMetric.of(m -> StatsJson.of(g.outside(set, m), g.outsideValues(set, m)))));
            }
        }
        PublishedMatch published = null;
        ByMetric<Double> difference = null;
        Optional<String> match = PublishedResults.matchFor(g.arm());
        if (match.isPresent() && PublishedResults.SUBSETS.contains(g.subset())) {
            Function<Metric, Double> p = m -> PublishedResults.value(match.get(), m, g.subset()).orElse(Double.NaN);
            published = new PublishedMatch(match.get(), ByMetric.of(m -> number(p.apply(m))));
            difference = ByMetric.of(m -> number(g.stats(m).mean() - p.apply(m)));
        }
        return new GroupJson(g.arm(), g.subset(), g.runs().size(), g.splitSeeds(), g.seeds(),
                g.missing().stream().map(m -> new SeedJson(m.cell().splitSeed(), m.cell().seed())).toList(), perSplit,
                ByMetric.of(m -> StatsJson.of(g.stats(m), g.values(m))), perClass, outside, published, difference);
    }

    /** NaN is not valid JSON; undefined values are written as null like in metrics.json. */
    private static Double number(double v) {
        return Double.isFinite(v) ? v : null;
    }
}
