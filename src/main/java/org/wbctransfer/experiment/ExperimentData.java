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
import org.wbctransfer.evaluation.ClassificationMetrics;
import org.wbctransfer.evaluation.EvaluationReport;

/**
 * The cells of an experiment read from disk and grouped by (arm, subset). Loading never throws for
 * a bad cell: an unfinished or unreadable run becomes a {@link Missing} entry so the report shows
 * the gap instead of quietly averaging over fewer seeds.
 */
final class ExperimentData {

    static final String TEST_DIR = "eval-test";
    static final String METRICS = "metrics.json";
    static final String CONFUSION = "confusion.png";
    static final String SUMMARY = "summary.csv";

    /** A cell with test metrics, plus metrics on any outside test sets keyed by set name. */
    record Run(Cell cell, ClassificationMetrics test, Map<String, ClassificationMetrics> outside) {
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

    /** All runs of one (arm, subset), sorted by seed. */
    record Group(String arm, String subset, List<Run> runs, List<Missing> missing) {

        List<Long> seeds() {
            return runs.stream().map(r -> r.cell().seed()).toList();
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
    final List<Run> runs;
    final List<Missing> missing;
    /** Problems that do not make a cell missing (e.g. an unreadable outside-set file). */
    final List<String> warnings;

    private ExperimentData(List<String> arms, List<String> subsets, List<String> classes, List<String> outsideSets,
                           List<Group> groups, List<Run> runs, List<Missing> missing, List<String> warnings) {
        this.arms = arms;
        this.subsets = subsets;
        this.classes = classes;
        this.outsideSets = outsideSets;
        this.groups = groups;
        this.runs = runs;
        this.missing = missing;
        this.warnings = warnings;
    }

    Optional<Group> group(String arm, String subset) {
        return groups.stream().filter(g -> g.arm().equals(arm) && g.subset().equals(subset)).findFirst();
    }

    static ExperimentData load(List<Cell> cells) {
        Set<String> keys = new HashSet<>();
        for (Cell c : cells) {
            // Two entries for the same seed would silently count one run twice in the mean.
            if (!keys.add(c.arm() + "\u0000" + c.subset() + "\u0000" + c.splitSeed() + "\u0000" + c.seed())) {
                throw new IllegalArgumentException("duplicate cell: " + c.label());
            }
        }

        List<String> arms = new ArrayList<>(new LinkedHashSet<>(cells.stream().map(Cell::arm).toList()));
        List<String> subsets = new ArrayList<>(PublishedResults.SUBSETS);
        new TreeSet<>(cells.stream().map(Cell::subset).filter(s -> !subsets.contains(s)).toList())
                .forEach(subsets::add);

        List<Run> runs = new ArrayList<>();
        List<Missing> missing = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        for (Cell c : cells) {
            Path metricsFile = c.runDir().resolve(TEST_DIR).resolve(METRICS);
            if (!Files.isDirectory(c.runDir())) {
                missing.add(new Missing(c, "run directory does not exist"));
                continue;
            }
            if (!Files.isRegularFile(metricsFile)) {
                missing.add(new Missing(c, "no " + TEST_DIR + "/" + METRICS + " (unfinished or not evaluated)"));
                continue;
            }
            ClassificationMetrics test;
            try {
                test = EvaluationReport.readJson(metricsFile);
            } catch (IOException | RuntimeException e) {
                missing.add(new Missing(c, "unreadable " + TEST_DIR + "/" + METRICS + ": " + firstLine(e.getMessage())));
                continue;
            }
            runs.add(new Run(c, test, readOutside(c, warnings)));
        }

        Set<String> classSet = new LinkedHashSet<>();
        Set<String> outsideSet = new TreeSet<>();
        for (Run r : runs) {
            classSet.addAll(r.test().classNames());
            outsideSet.addAll(r.outside().keySet());
        }

        List<Group> groups = new ArrayList<>();
        for (String arm : arms) {
            for (String subset : subsets) {
                List<Run> gr = runs.stream()
                        .filter(r -> r.cell().arm().equals(arm) && r.cell().subset().equals(subset))
                        .sorted(Comparator.comparingLong(r -> r.cell().seed()))
                        .toList();
                List<Missing> gm = missing.stream()
                        .filter(m -> m.cell().arm().equals(arm) && m.cell().subset().equals(subset))
                        .sorted(Comparator.comparingLong(m -> m.cell().seed()))
                        .toList();
                if (!gr.isEmpty() || !gm.isEmpty()) {
                    groups.add(new Group(arm, subset, gr, gm));
                }
            }
        }
        // Runs and missing cells in table order (arm, subset, seed) rather than input order.
        List<Run> orderedRuns = groups.stream().flatMap(g -> g.runs().stream()).toList();
        List<Missing> orderedMissing = groups.stream().flatMap(g -> g.missing().stream()).toList();
        return new ExperimentData(List.copyOf(arms), List.copyOf(subsets), List.copyOf(classSet),
                List.copyOf(outsideSet), List.copyOf(groups), orderedRuns, orderedMissing, List.copyOf(warnings));
    }

    /** Evaluations on folders outside the split are written by `evaluate` as eval-&lt;name&gt;/metrics.json. */
    private static Map<String, ClassificationMetrics> readOutside(Cell c, List<String> warnings) {
        Map<String, ClassificationMetrics> out = new TreeMap<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(c.runDir(), "eval-*")) {
            for (Path dir : dirs) {
                String name = dir.getFileName().toString().substring("eval-".length());
                Path file = dir.resolve(METRICS);
                if (dir.getFileName().toString().equals(TEST_DIR) || name.isEmpty() || !Files.isRegularFile(file)) {
                    continue;
                }
                try {
                    out.put(name, EvaluationReport.readJson(file));
                } catch (IOException | RuntimeException e) {
                    warnings.add(c.label() + ": unreadable eval-" + name + "/" + METRICS + ": " + firstLine(e.getMessage()));
                }
            }
        } catch (IOException e) {
            warnings.add(c.label() + ": cannot list " + c.runDir() + ": " + firstLine(e.getMessage()));
        }
        return new LinkedHashMap<>(out);
    }

    static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
