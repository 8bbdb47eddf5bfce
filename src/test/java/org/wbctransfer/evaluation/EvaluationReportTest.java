package org.wbctransfer.evaluation;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvaluationReportTest {

    @TempDir
    Path dir;

    private static ClassificationMetrics withNanAuc() {
        float[][] probs = {
                {0.8f, 0.1f, 0.1f},
                {0.6f, 0.3f, 0.1f},
                {0.2f, 0.7f, 0.1f},
                {0.4f, 0.35f, 0.25f}};
        int[] labels = {0, 0, 1, 1};
        int[] pred = {0, 0, 1, 0};
        ConfusionMatrix cm = ConfusionMatrix.of(List.of("neutrophil", "lymphocyte", "basophil"), labels, pred);
        return ClassificationMetrics.compute(cm, probs, labels);
    }

    @Test
    void textReportListsClassesAveragesAndMatrix() {
        ClassificationMetrics m = ClassificationMetrics.compute(ClassificationMetricsTest.threeClass(), null, null);
        String text = EvaluationReport.toText(m, "Test split");

        assertThat(text.lines().findFirst()).contains("Test split");
        assertThat(text).contains("A", "B", "C", "precision", "recall", "f1-score", "support", "roc-auc");
        // 82/117 = 0.70085...
        assertThat(EvaluationReport.formatMetric(m.macroF1())).isEqualTo("0.7009");
        assertThat(text.lines().filter(l -> l.strip().startsWith("macro avg")))
                .singleElement().asString().contains("0.7009");
        assertThat(text.lines().filter(l -> l.strip().startsWith("accuracy")))
                .singleElement().asString().contains("0.7000").contains("20");
        // weighted F1 136/195 = 0.69743...
        assertThat(text.lines().filter(l -> l.strip().startsWith("weighted avg")))
                .singleElement().asString().contains("0.6974");
        assertThat(text).contains("true \\ pred");
        assertThat(text.lines().filter(l -> l.startsWith("B ")))
                .singleElement().asString().matches("B\\s+2\\s+6\\s+2");
    }

    @Test
    void textReportAlignsConfusionMatrixColumns() {
        String text = EvaluationReport.toText(withNanAuc(), null);
        List<String> cmLines = text.lines().dropWhile(l -> !l.startsWith("true \\ pred")).toList();
        assertThat(cmLines).hasSize(4);
        // Right-aligned columns end at the same offset as their header.
        int headerEnd = cmLines.get(0).length();
        assertThat(cmLines).allSatisfy(l -> assertThat(l).hasSize(headerEnd));
        assertThat(text).startsWith("Classification report\n");
        assertThat(text).contains("neutrophil", "lymphocyte", "basophil");
    }

    @Test
    void jsonRoundTripKeepsEverythingAndWritesNanAsNull() throws IOException {
        ClassificationMetrics m = withNanAuc();
        assertThat(m.perClass().get(2).rocAuc()).isNaN();

        Path file = dir.resolve("run/metrics.json");
        EvaluationReport.writeJson(m, file);
        String json = Files.readString(file);
        assertThat(json).contains("\"rocAuc\" : null").doesNotContain("NaN");
        assertThat(json).contains("\"confusionMatrix\"", "\"counts\"", "\"classNames\"");

        ClassificationMetrics back = EvaluationReport.readJson(file);
        assertThat(back).isEqualTo(m);
        assertThat(back.perClass().get(2).rocAuc()).isNaN();
        assertThat(back.confusionMatrix().count(1, 0)).isEqualTo(1);
        assertThat(Files.list(file.getParent())).containsExactly(file);
    }

    @Test
    void jsonWithoutProbabilitiesHasNullMacroAuc() throws IOException {
        ClassificationMetrics m = ClassificationMetrics.compute(ClassificationMetricsTest.threeClass(), null, null);
        String json = EvaluationReport.toJson(m);
        assertThat(json).contains("\"macroRocAuc\" : null");
        assertThat(EvaluationReport.fromJson(json)).isEqualTo(m);
    }
}
