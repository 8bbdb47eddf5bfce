package org.wbctransfer.training;

/**
 * Refits a classifier's linear head on a few labelled feature vectors: multinomial logistic
 * regression by full-batch Adam, pulled towards the head it starts from by an L2 penalty on the
 * difference, so a handful of cells per class moves the decision boundaries to a new microscope
 * without forgetting what the source data taught. Plain Java: 5 x 512 weights need no engine.
 */
public final class HeadFit {

    private HeadFit() {}

    /** Settings of one fit. */
    public record Settings(int steps, double learningRate, double pullToInit) {
        public static Settings standard() {
            return new Settings(300, 1e-2, 1e-3);
        }
    }

    /** A head refitted with pseudo-labelled unlabelled cells, and how many were taken per class in the last round. */
    public record SelfTrained(float[][] head, int[] pseudoLabelsPerClass) {}

    /**
     * Curriculum self-training (Cascante-Bonilla et al. 2021, "Curriculum Labeling"): the head is
     * fitted on the labelled rows, then for round r of {@code rounds} the r/rounds most confident
     * of the unlabelled {@code pool} rows take the head's call as their label and the head is
     * fitted again, each time from {@code w0}/{@code b0} rather than from the last round's head,
     * so an early round's mistakes are not built upon. The unlabelled cells of the new lab move the
     * boundaries away from where they lie densely, which fifty labelled cells cannot show.
     */
    public static SelfTrained selfTrain(float[][] x, int[] y, float[][] pool, float[] w0, float[] b0, Settings s,
            int rounds) {
        float[][] head = fit(x, y, w0, b0, s);
        int k = b0.length;
        int[] perClass = new int[k];
        for (int r = 1; r <= rounds && pool.length > 0; r++) {
            int[] call = new int[pool.length];
            double[] confidence = new double[pool.length];
            double[] hw = toDouble(head[0]);
            double[] hb = toDouble(head[1]);
            double[] p = new double[k];
            for (int i = 0; i < pool.length; i++) {
                softmax(hw, hb, pool[i], p);
                for (int c = 1; c < k; c++) {
                    if (p[c] > p[call[i]]) {
                        call[i] = c;
                    }
                }
                confidence[i] = p[call[i]];
            }
            Integer[] order = new Integer[pool.length];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            java.util.Arrays.sort(order, (a, b) -> Double.compare(confidence[b], confidence[a]));
            int take = (int) Math.round((double) pool.length * r / rounds);
            float[][] xs = java.util.Arrays.copyOf(x, x.length + take);
            int[] ys = java.util.Arrays.copyOf(y, y.length + take);
            java.util.Arrays.fill(perClass, 0);
            for (int j = 0; j < take; j++) {
                xs[x.length + j] = pool[order[j]];
                ys[y.length + j] = call[order[j]];
                perClass[call[order[j]]]++;
            }
            head = fit(xs, ys, w0, b0, s);
        }
        return new SelfTrained(head, perClass);
    }

    private static double[] toDouble(float[] a) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i];
        }
        return out;
    }

    /** The softmax of the head's scores for one feature row, written into {@code p}. */
    private static void softmax(double[] w, double[] b, float[] x, double[] p) {
        int k = b.length;
        int d = x.length;
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < k; c++) {
            double z = b[c];
            for (int j = 0; j < d; j++) {
                z += w[c * d + j] * x[j];
            }
            p[c] = z;
            max = Math.max(max, z);
        }
        double sum = 0;
        for (int c = 0; c < k; c++) {
            p[c] = Math.exp(p[c] - max);
            sum += p[c];
        }
        for (int c = 0; c < k; c++) {
            p[c] /= sum;
        }
    }

    /**
     * @param x feature rows
     * @param y class index per row
     * @param w0 starting weight, classes x features, row-major
     * @param b0 starting bias
     * @return the fitted {weight, bias}
     */
    public static float[][] fit(float[][] x, int[] y, float[] w0, float[] b0, Settings s) {
        int k = b0.length;
        int d = x[0].length;
        int n = x.length;
        double[] w = toDouble(w0);
        double[] b = toDouble(b0);
        double[] mw = new double[w.length];
        double[] vw = new double[w.length];
        double[] mb = new double[k];
        double[] vb = new double[k];
        double beta1 = 0.9;
        double beta2 = 0.999;
        double[] gw = new double[w.length];
        double[] gb = new double[k];
        double[] p = new double[k];
        for (int t = 1; t <= s.steps(); t++) {
            java.util.Arrays.fill(gw, 0);
            java.util.Arrays.fill(gb, 0);
            for (int i = 0; i < n; i++) {
                softmax(w, b, x[i], p);
                for (int c = 0; c < k; c++) {
                    double g = (p[c] - (c == y[i] ? 1 : 0)) / n;
                    gb[c] += g;
                    for (int j = 0; j < d; j++) {
                        gw[c * d + j] += g * x[i][j];
                    }
                }
            }
            for (int i = 0; i < w.length; i++) {
                gw[i] += s.pullToInit() * (w[i] - w0[i]);
            }
            double c1 = 1 - Math.pow(beta1, t);
            double c2 = 1 - Math.pow(beta2, t);
            for (int i = 0; i < w.length; i++) {
                mw[i] = beta1 * mw[i] + (1 - beta1) * gw[i];
                vw[i] = beta2 * vw[i] + (1 - beta2) * gw[i] * gw[i];
                w[i] -= s.learningRate() * (mw[i] / c1) / (Math.sqrt(vw[i] / c2) + 1e-8);
            }
            for (int c = 0; c < k; c++) {
                mb[c] = beta1 * mb[c] + (1 - beta1) * gb[c];
                vb[c] = beta2 * vb[c] + (1 - beta2) * gb[c] * gb[c];
                b[c] -= s.learningRate() * (mb[c] / c1) / (Math.sqrt(vb[c] / c2) + 1e-8);
            }
        }
        float[] wf = new float[w.length];
        float[] bf = new float[k];
        for (int i = 0; i < w.length; i++) {
            wf[i] = (float) w[i];
        }
        for (int c = 0; c < k; c++) {
            bf[c] = (float) b[c];
        }
        return new float[][] {wf, bf};
    }
}
