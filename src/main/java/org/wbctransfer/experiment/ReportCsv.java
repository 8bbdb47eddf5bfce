package org.wbctransfer.experiment;

import static org.wbctransfer.experiment.ReportTables.*;

import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.wbctransfer.evaluation.ClassificationMetrics;
import org.wbctransfer.experiment.ExperimentData.Group;
import org.wbctransfer.experiment.ExperimentData.Run;

/** The report's CSV files: one row per group, per split seed, per run. */
final class ReportCsv {

    private ReportCsv() {}

    /** One row per group: the pooled groups, then (pool "development") the development split's. */
    static String resultsCsv(ExperimentData d) {
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
        for (Group g : d.allGroups()) {
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

    static String pool(ExperimentData d, Group g) {
        return d.developmentGroups.contains(g) ? "development" : "pooled";
    }

    /** Per (arm, subset, split seed): the mean over that split's training seeds. */
    static String splitsCsv(ExperimentData d) {
        List<String> header = new ArrayList<>(List.of("arm", "subset", "split_seed", "n_seeds"));
        METRICS.forEach(m -> header.add(m.key() + "_mean"));
        StringBuilder sb = new StringBuilder();
        csvLine(sb, header);
        for (Group g : d.allGroups()) {
            for (long split : g.splits()) {
                int n = g.splitStats(split, Metric.ACCURACY).n();
                if (n == 0) {
                    continue;
                }
                List<String> row = new ArrayList<>(List.of(g.arm(), g.subset(), Long.toString(split), Integer.toString(n)));
                METRICS.forEach(m -> row.add(num(g.splitStats(split, m).mean())));
                csvLine(sb, row);
            }
        }
        return sb.toString();
    }

    static String runsCsv(ExperimentData d, Path outDir) {
        List<String> header = new ArrayList<>(List.of("arm", "subset", "split_seed", "seed"));
        METRICS.forEach(m -> header.add(m.key()));
        d.classes.forEach(cls -> header.add("f1_" + cls));
        for (String set : d.outsideSets) {
            OUTSIDE_METRICS.forEach(m -> header.add("eval_" + set + "_" + m.key()));
        }
        boolean unsure = d.runs.stream().anyMatch(r -> r.unsure() != null);
        if (unsure) {
            header.addAll(List.of("test_temperature", "test_ece", "test_accuracy_at_95_coverage", "test_coverage_at_99_accuracy"));
        }
        header.add("training_minutes");
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
            if (unsure) {
                ExperimentData.Unsure u = r.unsure();
                row.addAll(u == null ? List.of("", "", "", "") : List.of(u.temperature() == null ? "" : num(u.temperature()),
                        num(u.ece()), num(u.accuracyAt95()), num(u.coverageAt99())));
            }
            row.add(r.minutes() == null ? "" : String.format(java.util.Locale.ROOT, "%.2f", r.minutes()));
            row.add(relative(outDir, r.cell().runDir()));
            csvLine(sb, row);
        }
        return sb.toString();
    }

    static void csvLine(StringBuilder sb, List<String> fields) {
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

}
