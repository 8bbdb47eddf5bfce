package org.wbctransfer.evaluation;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Square confusion matrix with rows indexed by the true class and columns by the predicted class,
 * the same orientation as scikit-learn's {@code confusion_matrix}. Immutable: the input array is
 * copied and accessors hand out copies, so a matrix can be shared between reports and plots.
 */
public final class ConfusionMatrix {

    private final List<String> classNames;
    private final long[][] counts;

    @JsonCreator
    public ConfusionMatrix(
            @JsonProperty("classNames") List<String> classNames,
            @JsonProperty("counts") long[][] counts) {
        Objects.requireNonNull(classNames, "classNames");
        Objects.requireNonNull(counts, "counts");
        int n = classNames.size();
        if (n == 0) {
            throw new IllegalArgumentException("at least one class is required");
        }
        if (counts.length != n) {
            throw new IllegalArgumentException(
                    "counts has " + counts.length + " rows but there are " + n + " classes");
        }
        this.classNames = List.copyOf(classNames);
        this.counts = new long[n][];
        for (int t = 0; t < n; t++) {
            if (counts[t] == null || counts[t].length != n) {
                throw new IllegalArgumentException("counts row " + t + " must have " + n + " columns");
            }
            for (long c : counts[t]) {
                if (c < 0) {
                    throw new IllegalArgumentException("negative count in row " + t);
                }
            }
            this.counts[t] = counts[t].clone();
        }
    }

    public static ConfusionMatrix of(List<String> classNames, int[] trueLabels, int[] predictedLabels) {
        Objects.requireNonNull(classNames, "classNames");
        Objects.requireNonNull(trueLabels, "trueLabels");
        Objects.requireNonNull(predictedLabels, "predictedLabels");
        if (trueLabels.length != predictedLabels.length) {
            throw new IllegalArgumentException("trueLabels has " + trueLabels.length
                    + " entries but predictedLabels has " + predictedLabels.length);
        }
        int n = classNames.size();
        long[][] counts = new long[n][n];
        for (int i = 0; i < trueLabels.length; i++) {
            int t = trueLabels[i];
            int p = predictedLabels[i];
            // A label outside the class list means the model and dataset disagree on the class set;
            // silently dropping it would inflate every metric.
            if (t < 0 || t >= n || p < 0 || p >= n) {
                throw new IllegalArgumentException("sample " + i + " has label out of range [0," + n
                        + "): true=" + t + ", predicted=" + p);
            }
            counts[t][p]++;
        }
        return new ConfusionMatrix(classNames, counts);
    }

    public int numClasses() {
        return classNames.size();
    }

    public long count(int trueClass, int predictedClass) {
        return counts[trueClass][predictedClass];
    }

    public long total() {
        long sum = 0;
        for (long[] row : counts) {
            for (long c : row) {
                sum += c;
            }
        }
        return sum;
    }

    /** Number of samples whose true class is {@code c} (row sum). */
    public long support(int c) {
        long sum = 0;
        for (long v : counts[c]) {
            sum += v;
        }
        return sum;
    }

    /** Number of samples predicted as class {@code c} (column sum). */
    public long predictedCount(int c) {
        long sum = 0;
        for (long[] row : counts) {
            sum += row[c];
        }
        return sum;
    }

    @JsonProperty("classNames")
    public List<String> classNames() {
        return classNames;
    }

    /** A defensive copy of the raw counts, {@code [true][predicted]}. */
    @JsonProperty("counts")
    public long[][] counts() {
        long[][] copy = new long[counts.length][];
        for (int i = 0; i < counts.length; i++) {
            copy[i] = counts[i].clone();
        }
        return copy;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConfusionMatrix other
                && classNames.equals(other.classNames)
                && Arrays.deepEquals(counts, other.counts);
    }

    @Override
    public int hashCode() {
        return 31 * classNames.hashCode() + Arrays.deepHashCode(counts);
    }

    @Override
    public String toString() {
        return "ConfusionMatrix" + classNames + Arrays.deepToString(counts);
    }
}
