package org.wbctransfer.evaluation;

/**
 * Temperature scaling (Guo et al. 2017): one scalar T divides the logits before the softmax,
 * chosen to minimise the negative log-likelihood on held-out labelled images (the validation
 * carve-out, never the test split). It changes no prediction, only how sure each one claims to be.
 * Works from probabilities: softmax(z / T) is proportional to p^(T0 / T) for p = softmax(z / T0).
 */
public final class TemperatureScaling {

    private static final double MIN_T = 0.05;
    private static final double MAX_T = 20;

    private TemperatureScaling() {}

    /** Probabilities made at temperature {@code from}, as the same logits give them at temperature {@code to}. */
    public static float[][] rescale(float[][] probs, double from, double to) {
        float[][] out = new float[probs.length][];
        for (int i = 0; i < probs.length; i++) {
            double[] logp = logSoftmax(probs[i], from / to);
            out[i] = new float[logp.length];
            for (int k = 0; k < logp.length; k++) {
                out[i][k] = (float) Math.exp(logp[k]);
            }
        }
        return out;
    }

    /** Mean negative log-likelihood of the true classes at temperature t (probabilities made at {@code from}). */
    public static double nll(float[][] probs, double from, int[] truth, double t) {
        double total = 0;
        for (int i = 0; i < probs.length; i++) {
            total -= logSoftmax(probs[i], from / t)[truth[i]];
        }
        return total / probs.length;
    }

    /** log softmax(power * log p): the log-probabilities of p's logits with the temperature divided by power. */
    private static double[] logSoftmax(float[] p, double power) {
        double[] logp = new double[p.length];
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < p.length; k++) {
            logp[k] = power * Math.log(Math.max(p[k], 1e-30));
            max = Math.max(max, logp[k]);
        }
        double sum = 0;
        for (double v : logp) {
            sum += Math.exp(v - max);
        }
        double lse = max + Math.log(sum);
        for (int k = 0; k < p.length; k++) {
            logp[k] -= lse;
        }
        return logp;
    }

    /**
     * The temperature in [0.05, 20] of least validation NLL, by golden-section search on log T
     * (the NLL is convex in 1/T).
     */
    public static double fit(float[][] probs, double from, int[] truth) {
        double lo = Math.log(MIN_T);
        double hi = Math.log(MAX_T);
        double g = (Math.sqrt(5) - 1) / 2;
        double a = hi - g * (hi - lo);
        double b = lo + g * (hi - lo);
        double fa = nll(probs, from, truth, Math.exp(a));
        double fb = nll(probs, from, truth, Math.exp(b));
        for (int it = 0; it < 80; it++) {
            if (fa < fb) {
                hi = b;
                b = a;
                fb = fa;
                a = hi - g * (hi - lo);
                fa = nll(probs, from, truth, Math.exp(a));
            } else {
                lo = a;
                a = b;
                fa = fb;
                b = lo + g * (hi - lo);
                fb = nll(probs, from, truth, Math.exp(b));
            }
        }
        return Math.exp((lo + hi) / 2);
    }
}
