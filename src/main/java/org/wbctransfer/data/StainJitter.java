package org.wbctransfer.data;

import java.util.SplittableRandom;

/**
 * HED stain augmentation (Tellez et al. 2018, "Whole-slide mitosis detection in H&E breast
 * histology using PHH3 as a reference to train distilled stain-invariant convolutional networks"):
 * colour deconvolution into haematoxylin, eosin and DAB optical densities with Ruifrok and
 * Johnston's stain vectors (as scikit-image's {@code rgb2hed}), a random per-stain scale and shift,
 * and back. Romanowsky-type blood stains are not H&E, but the two-dye split (nucleus-blue,
 * cytoplasm/eosin-pink) is close enough for the perturbation to span other labs' stain batches,
 * which is all it is for.
 */
final class StainJitter {

    /** Rows: the RGB optical-density vector of haematoxylin, eosin, DAB (scikit-image's rgb_from_hed). */
    private static final double[][] RGB_FROM_HED = {
        {0.65, 0.70, 0.29},
        {0.07, 0.99, 0.11},
        {0.27, 0.57, 0.78},
    };
    private static final double[][] HED_FROM_RGB = invert(RGB_FROM_HED);
    /** scikit-image's floor for a pixel value before the logarithm. */
    private static final double EPS = 1e-6;
    private static final double LOG_EPS = Math.log(EPS);

    private StainJitter() {}

    static void apply(SplittableRandom rng, double sigma, float[] r, float[] g, float[] b) {
        double[] alpha = new double[3];
        double[] beta = new double[3];
        for (int k = 0; k < 3; k++) {
            alpha[k] = 1 + (rng.nextDouble() * 2 - 1) * sigma;
            beta[k] = (rng.nextDouble() * 2 - 1) * sigma;
        }
        double[] od = new double[3];
        double[] hed = new double[3];
        for (int i = 0; i < r.length; i++) {
            od[0] = Math.log(Math.max(r[i], EPS)) / LOG_EPS;
            od[1] = Math.log(Math.max(g[i], EPS)) / LOG_EPS;
            od[2] = Math.log(Math.max(b[i], EPS)) / LOG_EPS;
            for (int k = 0; k < 3; k++) {
                double v = od[0] * HED_FROM_RGB[0][k] + od[1] * HED_FROM_RGB[1][k] + od[2] * HED_FROM_RGB[2][k];
                hed[k] = Math.max(v, 0) * alpha[k] + beta[k];
            }
            float[][] out = {r, g, b};
            for (int c = 0; c < 3; c++) {
                double logRgb = (hed[0] * RGB_FROM_HED[0][c] + hed[1] * RGB_FROM_HED[1][c] + hed[2] * RGB_FROM_HED[2][c]) * LOG_EPS;
                out[c][i] = (float) Math.min(Math.max(Math.exp(logRgb), 0), 1);
            }
        }
    }

    /** Cofactor inverse of a 3x3 matrix. */
    static double[][] invert(double[][] m) {
        double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
        double[][] inv = new double[3][3];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                int r0 = (j + 1) % 3;
                int r1 = (j + 2) % 3;
                int c0 = (i + 1) % 3;
                int c1 = (i + 2) % 3;
                inv[i][j] = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / det;
            }
        }
        return inv;
    }
}
