package org.wbctransfer.experiment;

import java.util.List;

/** Mean and sample standard deviation over seeds. */
record Stats(int n, double mean, double std) {

    static final Stats EMPTY = new Stats(0, Double.NaN, Double.NaN);

    /**
     * Sample (n-1) standard deviation, as seeds are a sample of possible runs; undefined (NaN) for a
     * single seed rather than a misleading 0.
     */
    static Stats of(List<Double> values) {
        int n = values.size();
        if (n == 0) {
            return EMPTY;
        }
        double sum = 0;
        for (double v : values) {
            sum += v;
        }
        double mean = sum / n;
        if (n == 1) {
            return new Stats(1, mean, Double.NaN);
        }
        double ss = 0;
        for (double v : values) {
            ss += (v - mean) * (v - mean);
        }
        return new Stats(n, mean, Math.sqrt(ss / (n - 1)));
    }
}
