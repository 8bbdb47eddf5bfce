package org.wbctransfer.evaluation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class OodFitTest {

    @Test
    void aurocCountsOutsideScoresAboveInsideOnesWithTiesHalf() {
        // 2.5 is above 2 of 3, 4 above all 3: 5 of 6 pairs.
        assertThat(OodFit.auroc(new double[] {1, 2, 3}, new double[] {2.5, 4})).isCloseTo(5.0 / 6, within(1e-12));
        assertThat(OodFit.auroc(new double[] {1, 2}, new double[] {2})).isCloseTo(0.75, within(1e-12));
        assertThat(OodFit.auroc(new double[] {5, 6}, new double[] {1, 2})).isZero();
    }

    @Test
    void percentileIsTheNearestRank() {
        double[] v = new double[200];
        for (int i = 0; i < v.length; i++) {
            v[i] = v.length - i; // 200 .. 1
        }
        assertThat(OodFit.percentile(v, 99)).isEqualTo(198);
        assertThat(OodFit.percentile(v, 100)).isEqualTo(200);
        assertThat(OodFit.percentile(new double[] {7}, 99)).isEqualTo(7);
    }

    @Test
    void differentialCountUndoesAKnownConfusion() {
        // True mix 50/50; class a is called b 10 % of the time, b is called a 20 %: 550 a, 450 b called.
        int[] called = new int[1000];
        for (int i = 550; i < 1000; i++) {
            called[i] = 1;
        }
        long[][] confusion = {{900, 100}, {200, 800}};
        DifferentialCount c = DifferentialCount.of(List.of("a", "b"), called, confusion, 3, 1);
        assertThat(c.called()).containsExactly(550, 450);
        assertThat(c.estimate()[0]).isCloseTo(0.5, within(1e-6));
        assertThat(c.low()[0]).isLessThan(0.5).isGreaterThan(0.4);
        assertThat(c.high()[0]).isGreaterThan(0.5).isLessThan(0.6);
        assertThat(c.text()).contains("referred for review: 3; flagged out of distribution: 1");

        // Without a confusion the estimate is the called share and the interval covers sampling only.
        DifferentialCount plain = DifferentialCount.of(List.of("a", "b"), called, null, 0, 0);
        assertThat(plain.estimate()[0]).isCloseTo(0.55, within(1e-12));
        assertThat(plain.high()[0] - plain.low()[0]).isLessThan(c.high()[0] - c.low()[0]);
        // Sampling error: about +-1.96 sqrt(.55 .45 / 1000) = +-0.031.
        assertThat(plain.high()[0] - plain.low()[0]).isBetween(0.05, 0.07);
    }
}
