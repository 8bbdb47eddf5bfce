package org.wbctransfer.evaluation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class ClassificationMetricsTest {

    private static final double EPS = 1e-9;

    /*
     * rows = true, cols = predicted
     *        A   B   C | support
     *   A    5   1   0 |   6
     *   B    2   6   2 |  10
     *   C    0   1   3 |   4
     *   pred 7   8   5 |  20
     *
     * accuracy = (5+6+3)/20 = 0.7
     * precision: A 5/7, B 6/8 = 3/4, C 3/5
     * recall:    A 5/6, B 6/10 = 3/5, C 3/4
     * f1 = 2TP/(pred+support): A 10/13, B 12/18 = 2/3, C 6/9 = 2/3
     * macro P  = (5/7 + 3/4 + 3/5)/3 = (100+105+84)/140/3 = 289/420
     * macro R  = (5/6 + 3/5 + 3/4)/3 = (50+36+45)/60/3 = 131/180
     * macro F1 = (10/13 + 2/3 + 2/3)/3 = (30+52)/39/3 = 82/117
     * weighted P  = (6*5/7 + 10*3/4 + 4*3/5)/20 = (300/70 + 693/70)/20 = 993/1400
     * weighted R  = (5 + 6 + 3)/20 = 0.7 (always equals accuracy)
     * weighted F1 = (6*10/13 + 10*2/3 + 4*2/3)/20 = (180/39 + 364/39)/20 = 136/195
     */
    static ConfusionMatrix threeClass() {
        return new ConfusionMatrix(List.of("A", "B", "C"), new long[][] {
                {5, 1, 0},
                {2, 6, 2},
                {0, 1, 3}});
    }

    @Test
    void threeClassMetricsMatchHandComputation() {
        ClassificationMetrics m = ClassificationMetrics.compute(threeClass(), null, null);

        assertThat(m.accuracy()).isCloseTo(0.7, within(EPS));

        ClassificationMetrics.PerClass a = m.perClass().get(0);
        ClassificationMetrics.PerClass b = m.perClass().get(1);
        ClassificationMetrics.PerClass c = m.perClass().get(2);
        assertThat(a.name()).isEqualTo("A");
        assertThat(a.precision()).isCloseTo(5.0 / 7, within(EPS));
        assertThat(a.recall()).isCloseTo(5.0 / 6, within(EPS));
        assertThat(a.f1()).isCloseTo(10.0 / 13, within(EPS));
        assertThat(a.support()).isEqualTo(6);
        assertThat(b.precision()).isCloseTo(0.75, within(EPS));
        assertThat(b.recall()).isCloseTo(0.6, within(EPS));
        assertThat(b.f1()).isCloseTo(2.0 / 3, within(EPS));
        assertThat(b.support()).isEqualTo(10);
        assertThat(c.precision()).isCloseTo(0.6, within(EPS));
        assertThat(c.recall()).isCloseTo(0.75, within(EPS));
        assertThat(c.f1()).isCloseTo(2.0 / 3, within(EPS));
        assertThat(c.support()).isEqualTo(4);

        assertThat(m.macroPrecision()).isCloseTo(289.0 / 420, within(EPS));
        assertThat(m.macroRecall()).isCloseTo(131.0 / 180, within(EPS));
        assertThat(m.macroF1()).isCloseTo(82.0 / 117, within(EPS));
        assertThat(m.weightedPrecision()).isCloseTo(993.0 / 1400, within(EPS));
        assertThat(m.weightedRecall()).isCloseTo(0.7, within(EPS));
        assertThat(m.weightedF1()).isCloseTo(136.0 / 195, within(EPS));

        // No scores given: AUC is undefined rather than a misleading 0.
        assertThat(m.macroRocAuc()).isNaN();
        assertThat(m.hasRocAuc()).isFalse();
        assertThat(m.perClass()).allSatisfy(pc -> assertThat(pc.rocAuc()).isNaN());
        assertThat(m.confusionMatrix()).isEqualTo(threeClass());
    }

    /*
     *        A   B   C | support
     *   A    3   1   0 |  4
     *   B    1   2   0 |  3
     *   C    1   1   0 |  2      <- C is never predicted
     *   pred 5   4   0 |  9
     *
     * C: precision 0/0 -> 0, recall 0/2 = 0, f1 0/(0+2) = 0
     * A: P 3/5, R 3/4, F1 6/9 = 2/3;  B: P 2/4, R 2/3, F1 4/7
     * accuracy 5/9, macro P (3/5 + 1/2 + 0)/3 = 11/30, macro F1 (2/3 + 4/7 + 0)/3 = 26/63
     * weighted F1 = (4*2/3 + 3*4/7 + 0)/9 = (56/21 + 36/21)/9 = 92/189
     */
    @Test
    void neverPredictedClassGetsZeroPrecisionAndF1() {
        ConfusionMatrix cm = new ConfusionMatrix(List.of("A", "B", "C"), new long[][] {
                {3, 1, 0},
                {1, 2, 0},
                {1, 1, 0}});
        ClassificationMetrics m = ClassificationMetrics.compute(cm, null, null);

        ClassificationMetrics.PerClass c = m.perClass().get(2);
        assertThat(c.precision()).isEqualTo(0.0);
        assertThat(c.recall()).isEqualTo(0.0);
        assertThat(c.f1()).isEqualTo(0.0);
        assertThat(c.support()).isEqualTo(2);

        assertThat(m.perClass().get(0).f1()).isCloseTo(2.0 / 3, within(EPS));
        assertThat(m.perClass().get(1).f1()).isCloseTo(4.0 / 7, within(EPS));
        assertThat(m.accuracy()).isCloseTo(5.0 / 9, within(EPS));
        assertThat(m.macroPrecision()).isCloseTo(11.0 / 30, within(EPS));
        assertThat(m.macroF1()).isCloseTo(26.0 / 63, within(EPS));
        assertThat(m.weightedF1()).isCloseTo(92.0 / 189, within(EPS));
    }

    @Test
    void classAbsentFromTestSetCountsInMacroAsZero() {
        // Like sklearn with an explicit label list: the empty class drags the macro average down
        // instead of disappearing, so runs on different splits stay comparable.
        ConfusionMatrix cm = new ConfusionMatrix(List.of("A", "B"), new long[][] {{4, 0}, {0, 0}});
        ClassificationMetrics m = ClassificationMetrics.compute(cm, null, null);
        assertThat(m.accuracy()).isEqualTo(1.0);
        assertThat(m.perClass().get(1).precision()).isEqualTo(0.0);
        assertThat(m.perClass().get(1).recall()).isEqualTo(0.0);
        assertThat(m.perClass().get(1).f1()).isEqualTo(0.0);
        assertThat(m.macroF1()).isCloseTo(0.5, within(EPS));
        assertThat(m.weightedF1()).isCloseTo(1.0, within(EPS));
    }

    private static float[][] binaryProbabilities(double[] positiveScores) {
        float[][] p = new float[positiveScores.length][];
        for (int i = 0; i < p.length; i++) {
            p[i] = new float[] {(float) (1 - positiveScores[i]), (float) positiveScores[i]};
        }
        return p;
    }

    private static int[] argmax(float[][] probabilities) {
        int[] pred = new int[probabilities.length];
        for (int i = 0; i < probabilities.length; i++) {
            for (int c = 1; c < probabilities[i].length; c++) {
                if (probabilities[i][c] > probabilities[i][pred[i]]) {
                    pred[i] = c;
                }
            }
        }
        return pred;
    }

    /*
     * scores [0.1, 0.4, 0.35, 0.8], labels [0, 0, 1, 1]
     * (positive, negative) pairs: 0.35>0.1 yes, 0.35>0.4 no, 0.8>0.1 yes, 0.8>0.4 yes -> 3/4 = 0.75.
     * Class 0 is scored with 1-s, which reverses the order and swaps the roles, so also 0.75.
     */
    @Test
    void binaryRocAucWithoutTies() {
        int[] labels = {0, 0, 1, 1};
        float[][] probs = binaryProbabilities(new double[] {0.1, 0.4, 0.35, 0.8});
        ConfusionMatrix cm = ConfusionMatrix.of(List.of("neg", "pos"), labels, argmax(probs));
        ClassificationMetrics m = ClassificationMetrics.compute(cm, probs, labels);

        assertThat(m.perClass().get(1).rocAuc()).isCloseTo(0.75, within(EPS));
        assertThat(m.perClass().get(0).rocAuc()).isCloseTo(0.75, within(EPS));
        assertThat(m.macroRocAuc()).isCloseTo(0.75, within(EPS));
        assertThat(m.hasRocAuc()).isTrue();
    }

    /*
     * scores [0.2, 0.5, 0.5, 0.9], labels [0, 0, 1, 1]
     * pairs: 0.5 vs 0.2 win (1), 0.5 vs 0.5 tie (1/2), 0.9 vs 0.2 win (1), 0.9 vs 0.5 win (1) -> 3.5/4.
     * Via ranks: 0.2 -> 1, the two 0.5 -> 2.5 each, 0.9 -> 4; positive rank sum 6.5,
     * U = 6.5 - 2*3/2 = 3.5, AUC = 3.5/(2*2) = 0.875 (sklearn.roc_auc_score gives the same).
     */
    @Test
    void binaryRocAucWithTieCountsHalf() {
        double auc = ClassificationMetrics.mannWhitneyAuc(
                new double[] {0.2, 0.5, 0.5, 0.9}, new boolean[] {false, false, true, true});
        assertThat(auc).isCloseTo(0.875, within(EPS));

        int[] labels = {0, 0, 1, 1};
        float[][] probs = binaryProbabilities(new double[] {0.2, 0.5, 0.5, 0.9});
        ConfusionMatrix cm = ConfusionMatrix.of(List.of("neg", "pos"), labels, argmax(probs));
        ClassificationMetrics m = ClassificationMetrics.compute(cm, probs, labels);
        assertThat(m.perClass().get(1).rocAuc()).isCloseTo(0.875, within(EPS));
    }

    @Test
    void allScoresTiedGivesChanceLevel() {
        assertThat(ClassificationMetrics.mannWhitneyAuc(
                new double[] {0.5, 0.5, 0.5, 0.5, 0.5}, new boolean[] {true, false, true, false, false}))
                .isCloseTo(0.5, within(EPS));
    }

    /*
     * sample probs (A, B, C)   true   argmax
     *   s0  0.7 0.2 0.1          A      A
     *   s1  0.3 0.4 0.3          B      B
     *   s2  0.2 0.3 0.5          C      C
     *   s3  0.4 0.5 0.1          A      B
     * A vs rest: positives {0.7, 0.4}, negatives {0.3, 0.2} -> 4/4 = 1
     * B vs rest: positive {0.4}, negatives {0.2, 0.3, 0.5} -> 2/3
     * C vs rest: positive {0.5}, negatives {0.1, 0.3, 0.1} -> 3/3 = 1
     * macro = (1 + 2/3 + 1)/3 = 8/9
     */
    @Test
    void oneVsRestAucForThreeClasses() {
        float[][] probs = {
                {0.7f, 0.2f, 0.1f},
                {0.3f, 0.4f, 0.3f},
                {0.2f, 0.3f, 0.5f},
                {0.4f, 0.5f, 0.1f}};
        int[] labels = {0, 1, 2, 0};
        ConfusionMatrix cm = ConfusionMatrix.of(List.of("A", "B", "C"), labels, argmax(probs));
        assertThat(cm.count(0, 1)).isEqualTo(1);

        ClassificationMetrics m = ClassificationMetrics.compute(cm, probs, labels);
        assertThat(m.perClass().get(0).rocAuc()).isCloseTo(1.0, within(EPS));
        assertThat(m.perClass().get(1).rocAuc()).isCloseTo(2.0 / 3, within(EPS));
        assertThat(m.perClass().get(2).rocAuc()).isCloseTo(1.0, within(EPS));
        assertThat(m.macroRocAuc()).isCloseTo(8.0 / 9, within(EPS));
    }

    @Test
    void classWithoutPositivesHasNanAucAndIsLeftOutOfMacro() {
        // Class C never occurs; A and B are perfectly separated (AUC 1) by their own scores.
        float[][] probs = {
                {0.8f, 0.1f, 0.1f},
                {0.6f, 0.3f, 0.1f},
                {0.2f, 0.7f, 0.1f},
                {0.1f, 0.6f, 0.3f}};
        int[] labels = {0, 0, 1, 1};
        ConfusionMatrix cm = ConfusionMatrix.of(List.of("A", "B", "C"), labels, argmax(probs));
        ClassificationMetrics m = ClassificationMetrics.compute(cm, probs, labels);

        assertThat(m.perClass().get(2).rocAuc()).isNaN();
        assertThat(m.perClass().get(0).rocAuc()).isCloseTo(1.0, within(EPS));
        assertThat(m.perClass().get(1).rocAuc()).isCloseTo(1.0, within(EPS));
        assertThat(m.macroRocAuc()).isCloseTo(1.0, within(EPS));
    }

    @Test
    void rejectsScoresThatDoNotMatchTheMatrix() {
        ConfusionMatrix cm = threeClass();
        float[][] probs = {{1f, 0f, 0f}};
        assertThatThrownBy(() -> ClassificationMetrics.compute(cm, probs, null))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ClassificationMetrics.compute(cm, probs, new int[] {0}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("confusion matrix");
        assertThatThrownBy(() -> ClassificationMetrics.compute(cm, new float[][] {{1f, 0f}}, new int[] {0}))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
