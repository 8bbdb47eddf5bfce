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

    /** How many rows the head calls right. */
    private static int right(float[] w, float[] b, float[][] x, int[] truth) {
        int n = 0;
        for (int i = 0; i < x.length; i++) {
            n += argMax(w, b, x[i]) == truth[i] ? 1 : 0;
        }
        return n;
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
        assertThat(right(w0, b0, test, yTest)).isZero();
        float[][] fit = HeadFit.fit(x, y, w0, b0, HeadFit.Settings.standard());
        assertThat(right(fit[0], fit[1], test, yTest)).isGreaterThanOrEqualTo(295);
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

    /** Two classes on one axis, N(-1, 0.3) and N(+1, 0.3), the rest of the four dimensions noise. */
    private static float[][] line(int perClass, int[] y, long seed) {
        Random r = new Random(seed);
        float[][] x = new float[2 * perClass][4];
        for (int i = 0; i < x.length; i++) {
            y[i] = i / perClass;
            x[i][0] = (float) (0.3 * r.nextGaussian() + (y[i] == 0 ? -1 : 1));
            for (int j = 1; j < 4; j++) {
                x[i][j] = (float) (0.3 * r.nextGaussian());
            }
        }
        return x;
    }

    @Test
    void selfTrainingOnUnlabelledCellsMovesABoundaryThatAtypicalLabelledCellsMisplaced() {
        // The labelled cells sit at the near edge of class 0 and the far edge of class 1, so the
        // boundary fitted on them lies inside class 1; the pool shows where the gap is.
        float[][] x = {{-0.2f, 0, 0, 0}, {-0.25f, 0, 0, 0}, {1.8f, 0, 0, 0}, {1.9f, 0, 0, 0}};
        int[] y = {0, 0, 1, 1};
        int[] truth = new int[400];
        float[][] pool = line(200, truth, 4);
        float[] w0 = new float[8];
        float[] b0 = new float[2];
        HeadFit.Settings s = HeadFit.Settings.standard();
        float[][] alone = HeadFit.fit(x, y, w0, b0, s);
        HeadFit.SelfTrained st = HeadFit.selfTrain(x, y, pool, w0, b0, s, 5);
        int before = right(alone[0], alone[1], pool, truth);
        int after = right(st.head()[0], st.head()[1], pool, truth);
        // Measured: 353 of 400 right before, 372 after (244 / 156 calls in the last round).
        assertThat(before).isLessThan(360);
        assertThat(after).isGreaterThanOrEqualTo(370);
        assertThat(st.pseudoLabelsPerClass()[0] + st.pseudoLabelsPerClass()[1]).isEqualTo(400);
    }

    @Test
    void withoutAPoolSelfTrainingIsThePlainFit() {
        int[] y = new int[30];
        float[][] x = clusters(10, y, 5);
        float[] w0 = new float[12];
        float[] b0 = new float[3];
        float[][] plain = HeadFit.fit(x, y, w0, b0, HeadFit.Settings.standard());
        HeadFit.SelfTrained st = HeadFit.selfTrain(x, y, new float[0][], w0, b0, HeadFit.Settings.standard(), 3);
        assertThat(st.head()[0]).containsExactly(plain[0]);
        assertThat(st.head()[1]).containsExactly(plain[1]);
        assertThat(st.pseudoLabelsPerClass()).containsExactly(0, 0, 0);
    }
}
