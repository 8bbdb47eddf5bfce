package org.wbctransfer.evaluation;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Summary metrics of a multi-class classifier, following scikit-learn's conventions so numbers can
 * be cross-checked against a Python notebook: zero divisions yield 0.0 (sklearn's default
 * {@code zero_division} outcome), macro averages weigh every class equally, weighted averages weigh
 * by support. ROC AUC is one-vs-rest and exact (Mann-Whitney with average ranks for ties); it is
 * {@code NaN} when undefined, which JSON stores as {@code null}.
 *
 * <p>The confusion matrix travels with the metrics so a single metrics.json fully describes a run.
 * Its fields, in component order, are the metric keys of metrics.json (and of the reports' JSON).
 */
public record ClassificationMetrics(
        double accuracy,
        double macroPrecision,
        double macroRecall,
        double macroF1,
        double weightedPrecision,
        double weightedRecall,
        double weightedF1,
        @JsonSerialize(using = NanAsNull.Serializer.class)
        @JsonDeserialize(using = NanAsNull.Deserializer.class)
        double macroRocAuc,
        List<PerClass> perClass,
        ConfusionMatrix confusionMatrix) {

    /** Metrics of one class; {@code rocAuc} is NaN when no probabilities were given or it is undefined. */
    public record PerClass(
            String name,
            double precision,
            double recall,
            double f1,
            long support,
            @JsonSerialize(using = NanAsNull.Serializer.class)
            @JsonDeserialize(using = NanAsNull.Deserializer.class)
            double rocAuc) {

        public PerClass {
            Objects.requireNonNull(name, "name");
        }
    }

    public ClassificationMetrics {
        Objects.requireNonNull(perClass, "perClass");
        Objects.requireNonNull(confusionMatrix, "confusionMatrix");
        perClass = List.copyOf(perClass);
        if (perClass.size() != confusionMatrix.numClasses()) {
            throw new IllegalArgumentException("perClass has " + perClass.size()
                    + " entries but the confusion matrix has " + confusionMatrix.numClasses() + " classes");
        }
    }

    /**
     * @param probabilities per-sample class scores, rows aligned with {@code trueLabels}; null to skip ROC AUC
     * @param trueLabels    true class per sample; required when {@code probabilities} is given
     */
    public static ClassificationMetrics compute(ConfusionMatrix cm, float[][] probabilities, int[] trueLabels) {
        Objects.requireNonNull(cm, "cm");
        int n = cm.numClasses();
        long total = cm.total();

        double[] aucs = new double[n];
        Arrays.fill(aucs, Double.NaN);
        if (probabilities != null) {
            validateScores(cm, probabilities, trueLabels);
            for (int c = 0; c < n; c++) {
                aucs[c] = oneVsRestAuc(probabilities, trueLabels, c);
            }
        }

        long correct = 0;
        List<PerClass> perClass = new ArrayList<>(n);
        double sumP = 0, sumR = 0, sumF = 0;
        double wP = 0, wR = 0, wF = 0;
        for (int c = 0; c < n; c++) {
            long tp = cm.count(c, c);
            long support = cm.support(c);
            long predicted = cm.predictedCount(c);
            long fp = predicted - tp;
            long fn = support - tp;
            correct += tp;

            double precision = safeDiv(tp, predicted);
            double recall = safeDiv(tp, support);
            // sklearn >= 1.3 computes F1 this way rather than from P and R, so a class that is never
            // predicted still gets a well-defined 0 instead of depending on the zero-division of P.
            double f1 = safeDiv(2 * tp, 2 * tp + fp + fn);

            perClass.add(new PerClass(cm.classNames().get(c), precision, recall, f1, support, aucs[c]));
            sumP += precision;
            sumR += recall;
            sumF += f1;
            wP += precision * support;
            wR += recall * support;
            wF += f1 * support;
        }

        double aucSum = 0;
        int aucCount = 0;
        for (double a : aucs) {
            if (!Double.isNaN(a)) {
                aucSum += a;
                aucCount++;
            }
        }
        double macroAuc = aucCount == 0 ? Double.NaN : aucSum / aucCount;

        return new ClassificationMetrics(
                safeDiv(correct, total),
                sumP / n, sumR / n, sumF / n,
                total == 0 ? 0.0 : wP / total,
                total == 0 ? 0.0 : wR / total,
                total == 0 ? 0.0 : wF / total,
                macroAuc,
                perClass,
                cm);
    }

    public int numClasses() {
        return perClass.size();
    }

    public List<String> classNames() {
        return confusionMatrix.classNames();
    }

    /** True when at least one class has a defined ROC AUC. */
    public boolean hasRocAuc() {
        return !Double.isNaN(macroRocAuc);
    }

    private static double safeDiv(long num, long den) {
        return den == 0 ? 0.0 : (double) num / den;
    }

    private static void validateScores(ConfusionMatrix cm, float[][] probabilities, int[] trueLabels) {
        if (trueLabels == null) {
            throw new IllegalArgumentException("trueLabels are required when probabilities are given");
        }
        if (probabilities.length != trueLabels.length) {
            throw new IllegalArgumentException("probabilities has " + probabilities.length
                    + " rows but trueLabels has " + trueLabels.length + " entries");
        }
        int n = cm.numClasses();
        long[] seen = new long[n];
        for (int i = 0; i < trueLabels.length; i++) {
            float[] row = probabilities[i];
            if (row == null || row.length != n) {
                throw new IllegalArgumentException("probabilities row " + i + " must have " + n + " entries");
            }
            for (float v : row) {
                // NaN has no place in a ranking; sklearn rejects it too.
                if (Float.isNaN(v)) {
                    throw new IllegalArgumentException("probabilities row " + i + " contains NaN");
                }
            }
            int t = trueLabels[i];
            if (t < 0 || t >= n) {
                throw new IllegalArgumentException("trueLabels[" + i + "] = " + t + " is out of range [0," + n + ")");
            }
            seen[t]++;
        }
        // The scores must describe the same samples as the matrix, otherwise AUC and the count-based
        // metrics would silently disagree.
        for (int c = 0; c < n; c++) {
            if (seen[c] != cm.support(c)) {
                throw new IllegalArgumentException("trueLabels has " + seen[c] + " samples of class "
                        + cm.classNames().get(c) + " but the confusion matrix has " + cm.support(c));
            }
        }
    }

    /**
     * Exact ROC AUC of class {@code c} against the rest via the Mann-Whitney U statistic: the
     * probability that a random positive outscores a random negative, ties counting one half. Average
     * ranks over tied scores give exactly that half credit, matching sklearn's trapezoidal AUC.
     */
    static double oneVsRestAuc(float[][] probabilities, int[] trueLabels, int c) {
        int m = trueLabels.length;
        double[] scores = new double[m];
        for (int i = 0; i < m; i++) {
            scores[i] = probabilities[i][c];
        }
        boolean[] positive = new boolean[m];
        for (int i = 0; i < m; i++) {
            positive[i] = trueLabels[i] == c;
        }
        return mannWhitneyAuc(scores, positive);
    }

    static double mannWhitneyAuc(double[] scores, boolean[] positive) {
        int m = scores.length;
        long nPos = 0;
        for (boolean b : positive) {
            if (b) {
                nPos++;
            }
        }
        long nNeg = m - nPos;
        if (nPos == 0 || nNeg == 0) {
            return Double.NaN;
        }
        Integer[] order = new Integer[m];
        for (int i = 0; i < m; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(scores[a], scores[b]));

        double positiveRankSum = 0;
        int i = 0;
        while (i < m) {
            int j = i;
            while (j + 1 < m && scores[order[j + 1]] == scores[order[i]]) {
                j++;
            }
            // 1-based ranks i+1 .. j+1 share their mean.
            double avgRank = (i + 1 + j + 1) / 2.0;
            for (int k = i; k <= j; k++) {
                if (positive[order[k]]) {
                    positiveRankSum += avgRank;
                }
            }
            i = j + 1;
        }
        double u = positiveRankSum - nPos * (nPos + 1) / 2.0;
        return u / ((double) nPos * nNeg);
    }
}
