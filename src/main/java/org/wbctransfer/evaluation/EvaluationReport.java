package org.wbctransfer.evaluation;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Json;

/**
 * Renders {@link ClassificationMetrics} as a scikit-learn style text report and (de)serialises them
 * as JSON. All writes are atomic so a crash mid-write never leaves a truncated metrics file that a
 * later comparison script would misread.
 */
public final class EvaluationReport {

    // Locale.ROOT keeps "0.8571" from becoming "0,8571" on machines with a European default locale.
    private static final Locale FMT = Locale.ROOT;
    private static final int DIGITS = 4;
    private static final String CM_CORNER = "true \\ pred";

    private EvaluationReport() {}

    /** Formats a metric the way the text report does; exposed so callers and tests agree on it. */
    public static String formatMetric(double value) {
        return Double.isNaN(value) ? "-" : String.format(FMT, "%." + DIGITS + "f", value);
    }

    public static String toText(ClassificationMetrics m, String title) {
        Objects.requireNonNull(m, "m");
        String heading = (title == null || title.isBlank()) ? "Classification report" : title.strip();
        ConfusionMatrix cm = m.confusionMatrix();
        List<String> names = cm.classNames();
        long total = cm.total();

        StringBuilder sb = new StringBuilder();
        sb.append(heading).append('\n');
        sb.append("=".repeat(heading.length())).append('\n');
        sb.append(String.format(FMT, "samples: %d, classes: %d%n%n", total, names.size()));

        int labelWidth = "weighted avg".length();
        for (String name : names) {
            labelWidth = Math.max(labelWidth, name.length());
        }
        int numWidth = Math.max(DIGITS + 2, 9);
        long maxSupport = Math.max(total, 1);
        int supportWidth = Math.max("support".length(), Long.toString(maxSupport).length());
        sb.append(row("", labelWidth, numWidth, supportWidth, "precision", "recall", "f1-score", "support", "roc-auc"))
                .append('\n');

        for (ClassificationMetrics.PerClass pc : m.perClass()) {
            sb.append(row(pc.name(), labelWidth, numWidth, supportWidth,
                    formatMetric(pc.precision()), formatMetric(pc.recall()), formatMetric(pc.f1()),
                    Long.toString(pc.support()), formatMetric(pc.rocAuc())));
        }
        sb.append('\n');
        // Accuracy has no per-column breakdown, so like sklearn it sits in the f1 column only.
        sb.append(row("accuracy", labelWidth, numWidth, supportWidth,
                "", "", formatMetric(m.accuracy()), Long.toString(total), ""));
        sb.append(row("macro avg", labelWidth, numWidth, supportWidth,
                formatMetric(m.macroPrecision()), formatMetric(m.macroRecall()), formatMetric(m.macroF1()),
                Long.toString(total), formatMetric(m.macroRocAuc())));
        sb.append(row("weighted avg", labelWidth, numWidth, supportWidth,
                formatMetric(m.weightedPrecision()), formatMetric(m.weightedRecall()),
                formatMetric(m.weightedF1()), Long.toString(total), ""));
        sb.append('\n');
        appendConfusionMatrix(sb, cm);
        return sb.toString();
    }

    private static void appendConfusionMatrix(StringBuilder sb, ConfusionMatrix cm) {
        List<String> names = cm.classNames();
        int n = names.size();
        int rowLabelWidth = CM_CORNER.length();
        for (String name : names) {
            rowLabelWidth = Math.max(rowLabelWidth, name.length());
        }
        int[] colWidth = new int[n];
        for (int p = 0; p < n; p++) {
            colWidth[p] = names.get(p).length();
            for (int t = 0; t < n; t++) {
                colWidth[p] = Math.max(colWidth[p], Long.toString(cm.count(t, p)).length());
            }
        }
        sb.append("Confusion matrix (rows: true class, columns: predicted class)\n");
        StringBuilder line = new StringBuilder(pad(CM_CORNER, rowLabelWidth, false));
        for (int p = 0; p < n; p++) {
            line.append("  ").append(pad(names.get(p), colWidth[p], true));
        }
        sb.append(line.toString().stripTrailing()).append('\n');
        for (int t = 0; t < n; t++) {
            line.setLength(0);
            line.append(pad(names.get(t), rowLabelWidth, false));
            for (int p = 0; p < n; p++) {
                line.append("  ").append(pad(Long.toString(cm.count(t, p)), colWidth[p], true));
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
    }

    private static String row(String label, int labelWidth, int numWidth, int supportWidth,
                              String precision, String recall, String f1, String support, String auc) {
        String s = pad(label, labelWidth, true)
                + "  " + pad(precision, numWidth, true)
                + "  " + pad(recall, numWidth, true)
                + "  " + pad(f1, numWidth, true)
                + "  " + pad(support, supportWidth, true)
                + "  " + pad(auc, numWidth, true);
        return s.stripTrailing() + "\n";
    }

    private static String pad(String s, int width, boolean right) {
        if (s.length() >= width) {
            return s;
        }
        String fill = " ".repeat(width - s.length());
        return right ? fill + s : s + fill;
    }

    public static String toJson(ClassificationMetrics m) throws IOException {
        Objects.requireNonNull(m, "m");
        return Json.MAPPER.writeValueAsString(m) + "\n";
    }

    public static ClassificationMetrics fromJson(String json) throws IOException {
        return Json.MAPPER.readValue(json, ClassificationMetrics.class);
    }

    public static void writeJson(ClassificationMetrics m, Path file) throws IOException {
        AtomicFiles.writeString(file, toJson(m));
    }

    public static ClassificationMetrics readJson(Path file) throws IOException {
        return fromJson(Files.readString(file, StandardCharsets.UTF_8));
    }
}
