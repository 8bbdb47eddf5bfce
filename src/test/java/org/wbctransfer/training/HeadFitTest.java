package org.wbctransfer.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class HeadFitTest {

    /** Three classes, each a cluster around its own axis in 4 dimensions. */
    private static float[][] clusters(int perClass, int[] y, long seed) {
        Random r = new Random(seed);
        float[][] x = new float[3 * perClass][4];
        for (int i = 0; i < x.length; i++) {
            y[i] = i / perClass;
            for (int j = 0; j < 4; j++) {
                x[i][j] = (float) (0.3 * r.nextGaussian() + (j == y[i] ? 2 : 0));
            }
        }
        return x;
    }

    private static int argMax(float[] w, float[] b, float[] x) {
        int best = 0;
        double bestZ = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < b.length; c++) {
            double z = b[c];
            for (int j = 0; j < x.length; j++) {
                z += w[c * x.length + j] * x[j];
            }
            if (z > bestZ) {
                bestZ = z;
                best = c;
            }
        }
        return best;
    }

    @Test
    void aHeadThatConfusesTheClassesLearnsThemFromTenCellsEach() {
        int[] y = new int[30];
        float[][] x = clusters(10, y, 1);
        // The starting head maps every axis to the wrong class (a cyclic shift).
        float[] w0 = new float[3 * 4];
        for (int c = 0; c < 3; c++) {
            w0[c * 4 + (c + 1) % 3] = 1;
        }
        float[] b0 = new float[3];
        int[] yTest = new int[300];
        float[][] test = clusters(100, yTest, 2);
        int before = 0;
        for (int i = 0; i < test.length; i++) {
            before += argMax(w0, b0, test[i]) == yTest[i] ? 1 : 0;
        }
        assertThat(before).isZero();
        float[][] fit = HeadFit.fit(x, y, w0, b0, HeadFit.Settings.standard());
        int after = 0;
        for (int i = 0; i < test.length; i++) {
            after += argMax(fit[0], fit[1], test[i]) == yTest[i] ? 1 : 0;
        }
        assertThat(after).isGreaterThanOrEqualTo(295);
    }

    @Test
    void aStrongPullKeepsTheStartingHead() {
        int[] y = new int[30];
        float[][] x = clusters(10, y, 3);
        float[] w0 = new float[12];
        float[] b0 = new float[3];
        w0[1] = 1;
        float[][] fit = HeadFit.fit(x, y, w0, b0, new HeadFit.Settings(300, 1e-2, 1e4));
        for (int i = 0; i < w0.length; i++) {
            assertThat((double) fit[0][i]).isCloseTo(w0[i], within(0.02));
        }
    }
}
