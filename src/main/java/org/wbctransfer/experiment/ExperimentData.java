package org.wbctransfer.experiment;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.evaluation.ClassificationMetrics;
import org.wbctransfer.evaluation.EvaluationReport;
import org.wbctransfer.util.UserException;

/**
 * The cells of an experiment read from disk and grouped by (arm, subset), each group pooling its
 * runs over split seeds and training seeds. Loading never throws for a bad cell: an unfinished or
 * unreadable run becomes a {@link Missing} entry so the report shows the gap instead of quietly
 * averaging over fewer runs. Runs on the development split ({@link ExperimentSpec#DEVELOPMENT_SPLIT})
 * are never pooled with runs on fresh splits: when both are present they form their own groups.
 */
final class ExperimentData {

    /** A cell with test metrics, plus metrics on any outside test sets keyed by set name. */
    /**
     * How a run's model does when unsure, on its test split: the expected calibration error,
     * accuracy at 95 % coverage and coverage at 99 % accuracy, after the temperature when {@code wbc
     * calibrate} fitted one (from its temperature.json, computed from the saved test predictions),
     * else from the evaluation's own calibration.json and selective.json; null when the run has none.
     */
    record Unsure(Double temperature, double ece, double accuracyAt95, double coverageAt99) {}

    /** {@code minutes}: the training's own time, the sum of its epochs' seconds in summary.csv (null without one). */
    record Run(Cell cell, ClassificationMetrics test, Map<String, ClassificationMetrics> outside, Unsure unsure,
            Double minutes) {
        double classF1(String className) {
            for (ClassificationMetrics.PerClass pc : test.perClass()) {
                if (pc.name().equals(className)) {
                    return pc.f1();
                }
            }
            return Double.NaN;
        }
    }

    record Missing(Cell cell, String reason) {}

    /** All runs of one (arm, subset), sorted by split seed, then training seed. */
    record Group(String arm, String subset, List<Run> runs, List<Missing> missing) {

        List<Long> seeds() {
            return runs.stream().map(r -> r.cell().seed()).toList();
        }

        List<Long> splitSeeds() {
            return runs.stream().map(r -> r.cell().splitSeed()).toList();
        }

        /** Distinct split seeds among the runs and the missing cells, ascending. */
        List<Long> splits() {
            return distinct(Cell::splitSeed);
        }

        /** Distinct training seeds among the runs and the missing cells, ascending. */
        List<Long> trainingSeeds() {
            return distinct(Cell::seed);
        }

        private List<Long> distinct(ToLongFunction<Cell> key) {
            TreeSet<Long> s = new TreeSet<>();
            runs.forEach(r -> s.add(key.applyAsLong(r.cell())));
            missing.forEach(m -> s.add(key.applyAsLong(m.cell())));
            return List.copyOf(s);
        }

        /** A metric over the runs of one split seed (its training seeds); n is 0 when none finished. */
        Stats splitStats(long split, Metric m) {
            return Stats.of(runs.stream().filter(r -> r.cell().splitSeed() == split).map(r -> m.of(r.test())).toList());
        }

        List<Double> values(Metric m) {
            return runs.stream().map(r -> m.of(r.test())).toList();
        }

        Stats stats(Metric m) {
            return Stats.of(values(m));
        }

        List<Double> classF1Values(String className) {
            // A class absent from one run's class list is skipped, not counted as 0.
            return runs.stream().map(r -> r.classF1(className)).filter(v -> !Double.isNaN(v)).toList();
        }

        Stats classF1(String className) {
            return Stats.of(classF1Values(className));
        }

        List<Double> outsideValues(String set, Metric m) {
            return runs.stream().filter(r -> r.outside().containsKey(set))
                    .map(r -> m.of(r.outside().get(set))).toList();
        }

        Stats outside(String set, Metric m) {
            return Stats.of(outsideValues(set, m));
        }
    }

    final List<String> arms;
    /** The study's four budgets always (so tables keep its layout), then any others by name. */
    final List<String> subsets;
    final List<String> classes;
    final List<String> outsideSets;
    final List<Group> groups;
    /** Development-split groups when the grid also has fresh splits (else empty: then they are {@link #groups}). */
    final List<Group> developmentGroups;
    final List<Run> runs;
    final List<Missing> missing;
    /** Problems that do not make a cell missing (e.g. an unreadable outside-set file). */
    final List<String> warnings;
    /** Arm name to its note (a recipe chosen on test figures), shown wherever the arm is. */
    final Map<String, String> armNotes;

    private ExperimentData(List<String> arms, List<String> subsets, List<String> classes, List<String> outsideSets,
                           List<Group> groups, List<Group> developmentGroups, List<Run> runs, List<Missing> missing,
                           List<String> warnings, Map<String, String> armNotes) {
        this.arms = arms;
        this.subsets = subsets;
        this.classes = classes;
        this.outsideSets = outsideSets;
        this.groups = groups;
        this.developmentGroups = developmentGroups;
        this.runs = runs;
        this.missing = missing;
        this.warnings = warnings;
        this.armNotes = armNotes;
    }

    /** The groups of fresh splits, then those of the development split. */
    List<Group> allGroups() {
        List<Group> all = new ArrayList<>(groups);
        all.addAll(developmentGroups);
        return all;
    }

    Optional<Group> group(String arm, String subset) {
        return groups.stream().filter(g -> g.arm().equals(arm) && g.subset().equals(subset)).findFirst();
    }

    /** The arm as tables show it: its name, and its note when it has one. */
    String label(String arm) {
        String note = armNotes.get(arm);
        return note == null ? arm : arm + " (" + note + ")";
    }

    static ExperimentData load(List<Cell> cells, Map<String, String> armNotes) {
        Set<String> keys = new HashSet<>();
        for (Cell c : cells) {
            // Two entries for the same seed would silently count one run twice in the mean.
            if (!keys.add(c.arm() + "\u0000" + c.subset() + "\u0000" + c.splitSeed() + "\u0000" + c.seed())) {
                throw new IllegalArgumentException("duplicate cell: " + c.label());
            }
        }

        List<Run> runs = new ArrayList<>();
        List<Missing> missing = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        for (Cell c : cells) {
            Path metricsFile = RunDir.of(c.runDir()).testMetrics();
            if (!Files.isDirectory(c.runDir())) {
                missing.add(new Missing(c, "run directory does not exist"));
                continue;
            }
            if (!Files.isRegularFile(metricsFile)) {
                missing.add(new Missing(c, "no " + RunDir.TEST_EVAL + "/" + RunDir.METRICS + " (unfinished or not evaluated)"));
                continue;
            }
            ClassificationMetrics test;
            try {
                test = EvaluationReport.readJson(metricsFile);
            } catch (IOException | RuntimeException e) {
                missing.add(new Missing(c, "unreadable " + RunDir.TEST_EVAL + "/" + RunDir.METRICS + ": " + UserException.firstLine(e.getMessage())));
                continue;
            }
            runs.add(new Run(c, test, readOutside(c, warnings), readUnsure(c), trainingMinutes(RunDir.of(c.runDir()))));
        }
        return of(cells.stream().map(Cell::arm).toList(), runs, missing, warnings, armNotes);
    }

    /**
     * A run's training time: the sum of the seconds column of its summary.csv, so the pauses of an
     * interrupted and resumed run are not counted; null when the run has no readable summary.
     */
    static Double trainingMinutes(RunDir run) {
        try {
            List<String> lines = Files.readAllLines(run.summary());
            int col = List.of(lines.get(0).split(",")).indexOf("seconds");
            if (col < 0) {
                return null;
            }
            double seconds = 0;
            for (String line : lines.subList(1, lines.size())) {
                seconds += Double.parseDouble(line.split(",", -1)[col]);
            }
            return seconds / 60;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Groups runs and missing cells; {@code arms} gives the arm order (first appearance counts).
     * Also the way back from a report's results.json.
     */
    static ExperimentData of(List<String> armOrder, List<Run> runs, List<Missing> missing, List<String> warnings,
                             Map<String, String> armNotes) {
        List<String> arms = new ArrayList<>(new LinkedHashSet<>(armOrder));
        List<String> subsets = new ArrayList<>(PublishedResults.SUBSETS);
        TreeSet<String> other = new TreeSet<>();
        runs.forEach(r -> other.add(r.cell().subset()));
        missing.forEach(m -> other.add(m.cell().subset()));
        other.stream().filter(s -> !subsets.contains(s)).forEach(subsets::add);

        Set<String> classSet = new LinkedHashSet<>();
        Set<String> outsideSet = new TreeSet<>();
        for (Run r : runs) {
            classSet.addAll(r.test().classNames());
            outsideSet.addAll(r.outside().keySet());
        }

        boolean fresh = runs.stream().anyMatch(r -> r.cell().splitSeed() != ExperimentSpec.DEVELOPMENT_SPLIT)
                || missing.stream().anyMatch(m -> m.cell().splitSeed() != ExperimentSpec.DEVELOPMENT_SPLIT);
        Predicate<Cell> development = c -> fresh && c.splitSeed() == ExperimentSpec.DEVELOPMENT_SPLIT;
        List<Group> groups = groupRuns(arms, subsets, runs, missing, development.negate());
        List<Group> developmentGroups = groupRuns(arms, subsets, runs, missing, development);
        // Runs and missing cells in table order (arm, subset, split, seed) rather than input order.
        List<Run> orderedRuns = new ArrayList<>();
        List<Missing> orderedMissing = new ArrayList<>();
        for (List<Group> gs : List.of(groups, developmentGroups)) {
            gs.forEach(g -> orderedRuns.addAll(g.runs()));
            gs.forEach(g -> orderedMissing.addAll(g.missing()));
        }
        return new ExperimentData(List.copyOf(arms), List.copyOf(subsets), List.copyOf(classSet),
                List.copyOf(outsideSet), List.copyOf(groups), List.copyOf(developmentGroups), List.copyOf(orderedRuns),
                List.copyOf(orderedMissing), List.copyOf(warnings), Map.copyOf(armNotes));
    }

    private static final Comparator<Cell> SPLIT_THEN_SEED =
            Comparator.comparingLong(Cell::splitSeed).thenComparingLong(Cell::seed);

    private static List<Group> groupRuns(List<String> arms, List<String> subsets, List<Run> runs, List<Missing> missing,
                                     Predicate<Cell> keep) {
        List<Group> groups = new ArrayList<>();
        for (String arm : arms) {
            for (String subset : subsets) {
                List<Run> gr = runs.stream()
                        .filter(r -> keep.test(r.cell()) && r.cell().arm().equals(arm) && r.cell().subset().equals(subset))
                        .sorted(Comparator.comparing(Run::cell, SPLIT_THEN_SEED))
                        .toList();
                List<Missing> gm = missing.stream()
                        .filter(m -> keep.test(m.cell()) && m.cell().arm().equals(arm) && m.cell().subset().equals(subset))
                        .sorted(Comparator.comparing(Missing::cell, SPLIT_THEN_SEED))
                        .toList();
                if (!gr.isEmpty() || !gm.isEmpty()) {
                    groups.add(new Group(arm, subset, gr, gm));
                }
            }
        }
        return groups;
    }

    /** Evaluations on folders outside the split are written by `evaluate` as eval-&lt;name&gt;/metrics.json. */
    private static Unsure readUnsure(Cell c) {
        Path eval = RunDir.of(c.runDir()).testEval();
        try {
            Path t = eval.resolve("temperature.json");
            if (Files.isRegularFile(t)) {
                com.fasterxml.jackson.databind.JsonNode n = org.wbctransfer.util.Json.MAPPER.readTree(t.toFile());
                com.fasterxml.jackson.databind.JsonNode after = n.path("testAfter");
                return new Unsure(n.path("temperature").asDouble(), after.path("ece").asDouble(),
                        after.path("accuracyAtCoverage").path("0.950").asDouble(),
                        after.path("coverageAtAccuracy").path("0.990").asDouble());
            }
            Path cal = eval.resolve(org.wbctransfer.evaluation.Calibration.JSON);
            Path sel = eval.resolve(org.wbctransfer.evaluation.Evaluation.SELECTIVE);
            if (Files.isRegularFile(cal) && Files.isRegularFile(sel)) {
                com.fasterxml.jackson.databind.JsonNode s = org.wbctransfer.util.Json.MAPPER.readTree(sel.toFile());
                return new Unsure(null, org.wbctransfer.util.Json.MAPPER.readTree(cal.toFile()).path("ece").asDouble(),
                        s.path("accuracyAtCoverage").path("0.950").asDouble(),
                        s.path("coverageAtAccuracy").path("0.990").asDouble());
            }
        } catch (IOException e) {
            // an unreadable file leaves the run without these figures; its metrics still count
        }
        return null;
    }

    private static Map<String, ClassificationMetrics> readOutside(Cell c, List<String> warnings) {
        Map<String, ClassificationMetrics> out = new TreeMap<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(c.runDir(), RunDir.EVAL_PREFIX + "*")) {
            for (Path dir : dirs) {
                String name = dir.getFileName().toString().substring(RunDir.EVAL_PREFIX.length());
                Path file = dir.resolve(RunDir.METRICS);
                if (dir.getFileName().toString().equals(RunDir.TEST_EVAL) || name.isEmpty() || !Files.isRegularFile(file)) {
                    continue;
                }
                try {
                    out.put(name, EvaluationReport.readJson(file));
                } catch (IOException | RuntimeException e) {
                    warnings.add(c.label() + ": unreadable " + RunDir.EVAL_PREFIX + name + "/" + RunDir.METRICS + ": " + UserException.firstLine(e.getMessage()));
                }
            }
        } catch (IOException e) {
            warnings.add(c.label() + ": cannot list " + c.runDir() + ": " + UserException.firstLine(e.getMessage()));
        }
        return new LinkedHashMap<>(out);
    }
}
