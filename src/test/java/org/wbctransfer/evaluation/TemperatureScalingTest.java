package org.wbctransfer.evaluation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class TemperatureScalingTest {

    @Test
    void recoversTheTemperatureThatMakesOverconfidentScoresHonest() {
        // Labels drawn from softmax(z); the model reports softmax(3 z), three times too sure.
        Random r = new Random(5);
        int n = 4000;
        float[][] reported = new float[n][3];
        int[] truth = new int[n];
        for (int i = 0; i < n; i++) {
            double[] z = {r.nextGaussian() * 1.5, r.nextGaussian() * 1.5, r.nextGaussian() * 1.5};
            double[] p = softmax(z, 1);
            double u = r.nextDouble();
            truth[i] = u < p[0] ? 0 : u < p[0] + p[1] ? 1 : 2;
            double[] q = softmax(z, 1.0 / 3);
            for (int k = 0; k < 3; k++) {
                reported[i][k] = (float) q[k];
            }
        }
        double t = TemperatureScaling.fit(reported, 1.0, truth);
        assertThat(t).isCloseTo(3.0, within(0.3));
        assertThat(TemperatureScaling.nll(reported, 1.0, truth, t)).isLessThan(TemperatureScaling.nll(reported, 1.0, truth, 1.0));
        Calibration before = Calibration.of(reported, truth);
        Calibration after = Calibration.of(TemperatureScaling.rescale(reported, 1.0, t), truth);
        assertThat(after.ece()).isLessThan(before.ece() / 3);
        // Rescaling never changes which class is on top.
        float[][] back = TemperatureScaling.rescale(reported, 1.0, t);
        for (int i = 0; i < n; i++) {
            assertThat(argMax(back[i])).isEqualTo(argMax(reported[i]));
        }
    }

    private static double[] softmax(double[] z, double t) {
        double max = Math.max(z[0], Math.max(z[1], z[2]));
        double[] e = new double[z.length];
        double s = 0;
        for (int k = 0; k < z.length; k++) {
            e[k] = Math.exp((z[k] - max) / t);
            s += e[k];
        }
        for (int k = 0; k < z.length; k++) {
            e[k] /= s;
        }
        return e;
    }

    private static int argMax(float[] p) {
        int b = 0;
        for (int k = 1; k < p.length; k++) {
            if (p[k] > p[b]) {
                b = k;
            }
        }
        return b;
    }
}
