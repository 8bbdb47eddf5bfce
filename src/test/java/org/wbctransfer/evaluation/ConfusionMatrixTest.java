package org.wbctransfer.evaluation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ConfusionMatrixTest {

    @Test
    void countsLabelsIntoTrueByPredictedCells() {
        int[] truth = {0, 0, 1, 1, 1, 2};
        int[] pred = {0, 1, 1, 1, 2, 0};
        ConfusionMatrix cm = ConfusionMatrix.of(List.of("a", "b", "c"), truth, pred);

        assertThat(cm.numClasses()).isEqualTo(3);
        assertThat(cm.total()).isEqualTo(6);
        assertThat(cm.count(0, 0)).isEqualTo(1);
        assertThat(cm.count(0, 1)).isEqualTo(1);
        assertThat(cm.count(1, 1)).isEqualTo(2);
        assertThat(cm.count(1, 2)).isEqualTo(1);
        assertThat(cm.count(2, 0)).isEqualTo(1);
        assertThat(cm.support(1)).isEqualTo(3);
        assertThat(cm.predictedCount(0)).isEqualTo(2);
        assertThat(cm.predictedCount(2)).isEqualTo(1);
        assertThat(cm.classNames()).containsExactly("a", "b", "c");
    }

    @Test
    void isImmutable() {
        long[][] counts = {{1, 2}, {3, 4}};
        ConfusionMatrix cm = new ConfusionMatrix(List.of("x", "y"), counts);
        counts[0][0] = 99;
        cm.counts()[1][1] = 99;
        assertThat(cm.count(0, 0)).isEqualTo(1);
        assertThat(cm.count(1, 1)).isEqualTo(4);
        assertThatThrownBy(() -> cm.classNames().add("z")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void rejectsInconsistentInput() {
        assertThatThrownBy(() -> new ConfusionMatrix(List.of("x", "y"), new long[][] {{1, 2}}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ConfusionMatrix.of(List.of("x", "y"), new int[] {0, 2}, new int[] {0, 1}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("out of range");
        assertThatThrownBy(() -> ConfusionMatrix.of(List.of("x", "y"), new int[] {0}, new int[] {0, 1}))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
