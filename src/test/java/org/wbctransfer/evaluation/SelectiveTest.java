package org.wbctransfer.evaluation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class SelectiveTest {

    @Test
    void theLeastConfidentAnswersAreTheFirstToBeReferred() {
        // 20 images: the 19 most confident are right, the least confident one is wrong.
        int n = 20;
        float[][] p = new float[n][];
        int[] truth = new int[n];
        for (int i = 0; i < n; i++) {
            float top = 0.99f - 0.02f * i;
            p[i] = new float[] {top, 1 - top};
            truth[i] = i == n - 1 ? 1 : 0;
        }
        Selective s = Selective.of(p, truth);
        // 90 % coverage: the 18 most confident, all right; 99 %: ceil(19.8) = 20 images, 19 right.
        assertThat(s.accuracyAtCoverage().get("0.900")).isEqualTo(1.0);
        assertThat(s.accuracyAtCoverage().get("0.950")).isEqualTo(1.0);
        assertThat(s.accuracyAtCoverage().get("0.990")).isCloseTo(0.95, within(1e-12));
        // 100 % accuracy is kept up to 19 of 20 answered.
        assertThat(s.coverageAtAccuracy().get("0.990")).isCloseTo(0.95, within(1e-12));
        assertThat(s.coverageAtAccuracy().get("0.995")).isCloseTo(0.95, within(1e-12));
        assertThat(s.line()).isEqualTo("selective: accuracy at coverage 90 % 1.0000, 95 % 1.0000, 99 % 0.9500,"
                + " coverage at accuracy 99.0 % 0.9500, 99.5 % 0.9500");
    }

    @Test
    void aModelWrongOnItsMostConfidentImageNeverReachesTheAccuracyTargets() {
        float[][] p = {{0.99f, 0.01f}, {0.6f, 0.4f}, {0.7f, 0.3f}};
        Selective s = Selective.of(p, new int[] {1, 0, 0});
        assertThat(s.coverageAtAccuracy().get("0.990")).isZero();
    }
}
