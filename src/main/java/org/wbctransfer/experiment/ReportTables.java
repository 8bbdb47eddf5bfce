package org.wbctransfer.experiment;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.TreeSet;
import org.wbctransfer.experiment.ExperimentData.Group;
import org.wbctransfer.experiment.ExperimentData.Missing;
import org.wbctransfer.experiment.ExperimentData.Run;
import org.wbctransfer.experiment.Table.Link;

/** The tables results.md and report.html share, built once from the grid's data. */
final class ReportTables {

    private ReportTables() {}

    /** The arm the others are measured against (the study's baseline). */
    static final String BASELINE_ARM = "baseline";
    static final List<Metric> METRICS = List.of(Metric.ACCURACY, Metric.WEIGHTED_F1, Metric.MACRO_F1);
    /** Outside sets are summarised by the two numbers people compare across datasets. */
    static final List<Metric> OUTSIDE_METRICS = List.of(Metric.ACCURACY, Metric.MACRO_F1);
    static final String NONE = "\u2014";
    static final String AGAINST_BASELINE_NOTE = "Macro F1 of each arm minus the baseline's on the same budget, "
            + "over the pooled runs above; the lead is kept when it is larger than the larger of the two sample "
            + "standard deviations, not confirmed when it is smaller, lost when the arm is not above the baseline. Per "
            + "split seed: the paired difference on each split.";
    static final String DEVELOPMENT_NOTE = "The development split: its test figures were looked at many "
            + "times and the recipes were chosen on them, so they are shown apart and never pooled with the fresh "
            + "splits above.";
    static final String PM = " \u00B1 ";

    static String meanStd(Group g, Metric m) {
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

    static String meanStdShort(Stats s, Metric m) {
        if (s.n() == 0) {
            return NONE;
        }
        return Double.isNaN(s.std()) ? m.format(s.mean()) : m.format(s.mean()) + PM + m.format(s.std());
    }

    static Table resultsTable(ExperimentData d, List<Group> groups) {
        List<String> header = new ArrayList<>(List.of("Arm", "Metric"));
        header.addAll(d.subsets);
        Table.Builder t = Table.builder(header, 2);
        for (String arm : d.arms) {
            if (groups.stream().noneMatch(g -> g.arm().equals(arm))) {
                continue;
            }
            for (Metric m : METRICS) {
                List<Object> row = new ArrayList<>(List.of(d.label(arm), m.label()));
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
    static String splitNote(ExperimentData d) {
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
    static Table perSplitTable(ExperimentData d) {
        Table.Builder t = Table.builder(List.of("Arm", "Subset", "Split seed", "Seeds", "Test accuracy (%)", "Macro F1"), 3);
        for (Group g : d.allGroups()) {
            for (long split : g.splits()) {
                Stats acc = g.splitStats(split, Metric.ACCURACY);
                if (acc.n() == 0) {
                    continue;
                }
                t.row(List.of(d.label(g.arm()), g.subset(), Long.toString(split), Integer.toString(acc.n()),
                        Metric.ACCURACY.format(acc.mean()), Metric.MACRO_F1.format(g.splitStats(split, Metric.MACRO_F1).mean())));
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
            // The larger sample std of the two; a single run has none, so the other's counts.
            double spread = Double.isNaN(a.std()) ? b.std() : Double.isNaN(b.std()) ? a.std() : Math.max(a.std(), b.std());
            Map<Long, Double> perSplit = new java.util.TreeMap<>();
            for (long split : g.splits()) {
                Stats sa = g.splitStats(split, Metric.MACRO_F1);
                Stats sb = base.get().splitStats(split, Metric.MACRO_F1);
                if (sa.n() > 0 && sb.n() > 0) {
                    perSplit.put(split, sa.mean() - sb.mean());
                }
            }
            String verdict = Double.isNaN(spread) ? "one run each: no spread to compare with"
                    : diff > spread ? "lead kept: larger than the spread"
                    : diff > 0 ? "lead not confirmed: within the spread" : "lead lost: at or below the baseline";
            if (!g.missing().isEmpty() || !base.get().missing().isEmpty()) {
                // A verdict on part of the planned runs is provisional, and says so.
                verdict = "so far (runs missing): " + verdict;
            }
            out.add(new Comparison(g.arm(), g.subset(), diff,
                    g.stats(Metric.ACCURACY).mean() - base.get().stats(Metric.ACCURACY).mean(), spread, perSplit, verdict));
        }
        return out;
    }

    static Table againstBaselineTable(ExperimentData d, List<Comparison> comparisons) {
        Table.Builder t = Table.builder(List.of("Arm", "Subset", "\u0394 macro F1", "\u0394 accuracy (pp)",
                "Larger std (macro F1)", "\u0394 macro F1 per split seed", "Verdict"), 2);
        for (Comparison c : comparisons) {
            List<String> per = new ArrayList<>();
            c.perSplit().forEach((split, v) -> per.add(split + ": " + Metric.MACRO_F1.formatDifference(v)));
            t.row(List.of(d.label(c.arm()), c.subset(), Metric.MACRO_F1.formatDifference(c.macroF1Difference()),
                    Metric.ACCURACY.formatDifference(c.accuracyDifference()),
                    Double.isNaN(c.largerStd()) ? NONE : Metric.MACRO_F1.format(c.largerStd()),
                    String.join(", ", per), c.verdict()));
        }
        return t.build();
    }

    static Table publishedTable() {
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

    static Table differenceTable(ExperimentData d) {
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
                List<Object> row = new ArrayList<>(List.of(d.label(arm), match.get(), label));
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

    static Table perClassTable(ExperimentData d) {
        List<String> header = new ArrayList<>(List.of("Arm", "Subset", "Runs"));
        header.addAll(d.classes);
        Table.Builder t = Table.builder(header, 2);
        for (Group g : d.groups) {
            if (g.runs().isEmpty()) {
                continue;
            }
            List<Object> row = new ArrayList<>(List.of(d.label(g.arm()), g.subset(), Integer.toString(g.runs().size())));
            for (String cls : d.classes) {
                row.add(meanStdShort(g.classF1(cls), Metric.MACRO_F1));
            }
            t.row(row);
        }
        return t.build();
    }

    /**
     * One outside set's figures per group, with the same runs' Raabin test figures beside them, so
     * what a lever costs at home is visible next to what it gains elsewhere.
     */
    static Table outsideTable(ExperimentData d, String set) {
        Table.Builder t = Table.builder(List.of("Arm", "Subset", "Seeds", "Accuracy (%)", "Macro F1",
                "Raabin test accuracy (%)", "Raabin test macro F1"), 2);
        for (Group g : d.groups) {
            List<Double> acc = g.outsideValues(set, Metric.ACCURACY);
            if (acc.isEmpty()) {
                continue;
            }
            List<Run> scored = g.runs().stream().filter(r -> r.outside().containsKey(set)).toList();
            t.row(List.of(d.label(g.arm()), g.subset(), Integer.toString(acc.size()),
                    meanStdShort(g.outside(set, Metric.ACCURACY), Metric.ACCURACY),
                    meanStdShort(g.outside(set, Metric.MACRO_F1), Metric.MACRO_F1),
                    meanStdShort(Stats.of(scored.stream().map(r -> Metric.ACCURACY.of(r.test())).toList()), Metric.ACCURACY),
                    meanStdShort(Stats.of(scored.stream().map(r -> Metric.MACRO_F1.of(r.test())).toList()), Metric.MACRO_F1)));
        }
        return t.build();
    }

    /** Per run: calibration and selective classification on its test split; empty when no run has them. */
    static Table unsureTable(ExperimentData d) {
        Table.Builder t = Table.builder(List.of("Arm", "Subset", "Split seed", "Seed", "Temperature", "ECE (15 bins)",
                "Accuracy at 95 % coverage (%)", "Coverage at 99 % accuracy (%)"), 2);
        for (Run r : d.runs) {
            ExperimentData.Unsure u = r.unsure();
            if (u == null) {
                continue;
            }
            t.row(List.of(d.label(r.cell().arm()), r.cell().subset(), Long.toString(r.cell().splitSeed()),
                    Long.toString(r.cell().seed()), u.temperature() == null ? "none" : String.format(Locale.ROOT, "%.3f", u.temperature()),
                    String.format(Locale.ROOT, "%.4f", u.ece()), String.format(Locale.ROOT, "%.2f", 100 * u.accuracyAt95()),
                    String.format(Locale.ROOT, "%.2f", 100 * u.coverageAt99())));
        }
        return t.build();
    }

    static Table runsTable(ExperimentData d, Path outDir) {
        List<String> header = new ArrayList<>(List.of("Arm", "Subset", "Split seed", "Seed"));
        METRICS.forEach(m -> header.add(m.label()));
        d.classes.forEach(cls -> header.add("F1 " + cls));
        header.add("Run directory");
        Table.Builder t = Table.builder(header, 2);
        for (Run r : d.runs) {
            List<Object> row = new ArrayList<>(List.of(d.label(r.cell().arm()), r.cell().subset(),
                    Long.toString(r.cell().splitSeed()), Long.toString(r.cell().seed())));
            METRICS.forEach(m -> row.add(m.format(m.of(r.test()))));
            d.classes.forEach(cls -> row.add(Metric.MACRO_F1.format(r.classF1(cls))));
            row.add(runDirLink(outDir, r.cell()));
            t.row(row);
        }
        return t.build();
    }

    static Table missingTable(ExperimentData d, Path outDir) {
        Table.Builder t = Table.builder(List.of("Arm", "Subset", "Split seed", "Seed", "Reason", "Run directory"), 6);
        for (Missing m : d.missing) {
            t.row(List.of(d.label(m.cell().arm()), m.cell().subset(), Long.toString(m.cell().splitSeed()),
                    Long.toString(m.cell().seed()), m.reason(),
                    runDirLink(outDir, m.cell())));
        }
        return t.build();
    }

    /** Relative links keep the report valid when the whole experiment folder is moved or copied. */
    static Link runDirLink(Path outDir, Cell c) {
        String rel = relative(outDir, c.runDir());
        return new Link(rel, uriPath(rel + "/"));
    }

    /** Split seeds as one cell of a table or CSV row. */
    static String joined(List<Long> values) {
        return String.join(" ", values.stream().map(String::valueOf).toList());
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

    static String uriPath(String path) {
        try {
            return new URI(null, null, path, null).toASCIIString();
        } catch (URISyntaxException e) {
            return path.replace(" ", "%20");
        }
    }

}
