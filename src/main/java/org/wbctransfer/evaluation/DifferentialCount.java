package org.wbctransfer.evaluation;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The differential count of one smear's cells: how many of each class the model called, and the
 * class proportions corrected for the model's confusion, with a 95 % interval.
 *
 * <p>A classifier that calls 3 % of true neutrophils monocytes inflates a smear's monocyte count,
 * so the proportions are estimated from the called counts through the validation confusion matrix
 * (the expectation-maximisation estimate of Saerens et al. 2002: the true proportions whose
 * expected called counts match the observed ones, staying between 0 and 1). The interval is a
 * bootstrap over both sources of error: the cells of the smear (resampled) and the confusion
 * matrix (each true class's validation row resampled).
 */
public record DifferentialCount(List<String> classes, int cells, long[] called, double[] estimate, double[] low,
        double[] high, int referred, int flagged, boolean confusionCorrected) {

    private static final int BOOTSTRAP = 1000;
    private static final int EM_ITERATIONS = 200;

    /**
     * @param predicted the class called for each cell
     * @param confusion validation counts, [true][called]; null when the model has none, in which
     *     case the interval covers sampling only and no correction is made
     */
    public static DifferentialCount of(List<String> classes, int[] predicted, long[][] confusion, int referred,
            int flagged) {
        int k = classes.size();
        int n = predicted.length;
        long[] called = new long[k];
        for (int p : predicted) {
            called[p]++;
        }
        double[][] rates = confusion == null ? null : rates(confusion);
        double[] est = estimate(called, rates);
        Random rnd = new Random(0);
        double[][] boot = new double[k][BOOTSTRAP];
        for (int b = 0; b < BOOTSTRAP; b++) {
            long[] c = new long[k];
            for (int i = 0; i < n; i++) {
                c[predicted[rnd.nextInt(n)]]++;
            }
            double[][] r = null;
            if (confusion != null) {
                long[][] resampled = new long[k][];
                for (int t = 0; t < k; t++) {
                    resampled[t] = resampleRow(confusion[t], rnd);
                }
                r = rates(resampled);
            }
            double[] e = estimate(c, r);
            for (int j = 0; j < k; j++) {
                boot[j][b] = e[j];
            }
        }
        double[] low = new double[k];
        double[] high = new double[k];
        for (int j = 0; j < k; j++) {
            Arrays.sort(boot[j]);
            low[j] = boot[j][(int) Math.floor(0.025 * (BOOTSTRAP - 1))];
            high[j] = boot[j][(int) Math.ceil(0.975 * (BOOTSTRAP - 1))];
        }
        return new DifferentialCount(List.copyOf(classes), n, called, est, low, high, referred, flagged,
                confusion != null);
    }

    /** Row-normalised confusion, [true][called]; a class with no validation images calls itself. */
    private static double[][] rates(long[][] counts) {
        int k = counts.length;
        double[][] r = new double[k][k];
        for (int t = 0; t < k; t++) {
            long s = 0;
            for (long v : counts[t]) {
                s += v;
            }
            for (int j = 0; j < k; j++) {
                r[t][j] = s == 0 ? (t == j ? 1 : 0) : (double) counts[t][j] / s;
            }
        }
        return r;
    }

    /** Proportions of the true classes given the called counts and the confusion rates (none: the called shares). */
    static double[] estimate(long[] called, double[][] rates) {
        int k = called.length;
        long n = 0;
        for (long v : called) {
            n += v;
        }
        double[] p = new double[k];
        for (int j = 0; j < k; j++) {
            p[j] = n == 0 ? 0 : (double) called[j] / n;
        }
        if (rates == null || n == 0) {
            return p;
        }
        Arrays.fill(p, 1.0 / k);
        for (int it = 0; it < EM_ITERATIONS; it++) {
            double[] next = new double[k];
            for (int j = 0; j < k; j++) {
                if (called[j] == 0) {
                    continue;
                }
                double denom = 0;
                for (int t = 0; t < k; t++) {
                    denom += p[t] * rates[t][j];
                }
                if (denom <= 0) {
                    continue;
                }
                for (int t = 0; t < k; t++) {
                    next[t] += called[j] * p[t] * rates[t][j] / denom;
                }
            }
            double s = 0;
            for (double v : next) {
                s += v;
            }
            for (int t = 0; t < k; t++) {
                p[t] = s == 0 ? 0 : next[t] / s;
            }
        }
        return p;
    }

    private static long[] resampleRow(long[] row, Random rnd) {
        long total = 0;
        for (long v : row) {
            total += v;
        }
        long[] out = new long[row.length];
        for (long i = 0; i < total; i++) {
            long u = (long) (rnd.nextDouble() * total);
            int j = 0;
            while (u >= row[j]) {
                u -= row[j];
                j++;
            }
            out[j]++;
        }
        return out;
    }

    /** A table for the terminal: class, called count and share, estimate with its 95 % interval. */
    public String text() {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "differential count of %d cell(s)%s:%n", cells,
                confusionCorrected ? " (estimate corrected for the model's validation confusion; 95 % interval over"
                        + " the cells and the confusion)" : " (95 % interval over the cells; no validation confusion in"
                        + " the model to correct with)"));
        for (int j = 0; j < classes.size(); j++) {
            sb.append(String.format(Locale.ROOT, "  %-11s %6d called (%5.1f %%)   estimate %5.1f %% [%5.1f, %5.1f]%n",
                    classes.get(j), called[j], 100.0 * called[j] / Math.max(1, cells), 100 * estimate[j], 100 * low[j],
                    100 * high[j]));
        }
        sb.append(String.format(Locale.ROOT, "  referred for review: %d; flagged out of distribution: %d%n", referred, flagged));
        return sb.toString();
    }

    /** The same as a JSON-ready map (percentages). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cells", cells);
        m.put("confusionCorrected", confusionCorrected);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int j = 0; j < classes.size(); j++) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("class", classes.get(j));
            r.put("called", called[j]);
            r.put("calledPercent", 100.0 * called[j] / Math.max(1, cells));
            r.put("estimatePercent", 100 * estimate[j]);
            r.put("low95Percent", 100 * low[j]);
            r.put("high95Percent", 100 * high[j]);
            rows.add(r);
        }
        m.put("classes", rows);
        m.put("referred", referred);
        m.put("flaggedOutOfDistribution", flagged);
        return m;
    }
}
