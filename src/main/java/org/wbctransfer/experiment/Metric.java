package org.wbctransfer.experiment;

import java.util.Locale;
import java.util.function.ToDoubleFunction;
import org.wbctransfer.evaluation.ClassificationMetrics;

/**
 * The three headline metrics of the study, with the display conventions of its table: accuracy
 * in percent with two decimals, F1 scores as fractions with three decimals. Values are always held
 * as fractions (as in metrics.json); only formatting scales accuracy.
 */
public enum Metric {
    ACCURACY("Test accuracy (%)", "accuracy", ClassificationMetrics::accuracy, 100.0, 2),
    WEIGHTED_F1("Weighted F1", "weightedF1", ClassificationMetrics::weightedF1, 1.0, 3),
    MACRO_F1("Macro F1", "macroF1", ClassificationMetrics::macroF1, 1.0, 3);

    private final String label;
    private final String key;
    private final String jsonKey;
    private final ToDoubleFunction<ClassificationMetrics> extractor;
    private final double displayScale;
    private final int decimals;

    /** @param jsonKey the field of metrics.json ({@link ClassificationMetrics}); the CSV key is its snake_case */
    Metric(String label, String jsonKey, ToDoubleFunction<ClassificationMetrics> extractor, double displayScale,
           int decimals) {
        this.label = label;
        this.key = jsonKey.replaceAll("([A-Z])", "_$1").toLowerCase(Locale.ROOT);
        this.jsonKey = jsonKey;
        this.extractor = extractor;
        this.displayScale = displayScale;
        this.decimals = decimals;
    }

    /** Row label in the study's table. */
    public String label() {
        return label;
    }

    /** snake_case key used for CSV columns and JSON fields. */
    public String key() {
        return key;
    }

    /** camelCase key used in JSON, matching the field names of metrics.json. */
    public String jsonKey() {
        return jsonKey;
    }

    public double of(ClassificationMetrics m) {
        return extractor.applyAsDouble(m);
    }

    /** Scale applied for display (100 for accuracy, shown in percent). */
    public double displayScale() {
        return displayScale;
    }

    /** Formats a fraction for display, e.g. 0.9248 -> "92.48" or 0.84 -> "0.840"; NaN -> "". */
    public String format(double fraction) {
        return format(fraction, decimals, false);
    }

    /** Signed difference of two fractions in display units, e.g. -0.09 -> "-0.090", 0.0123 -> "+1.23". */
    public String formatDifference(double fractionDifference) {
        return format(fractionDifference, decimals, true);
    }

    private String format(double fraction, int digits, boolean signed) {
        if (Double.isNaN(fraction)) {
            return "";
        }
        double v = fraction * displayScale;
        // Round first so a tiny negative difference prints as "+0.000" rather than the alarming "-0.000".
        double rounded = Math.round(v * Math.pow(10, digits)) / Math.pow(10, digits);
        if (rounded == 0.0) {
            rounded = 0.0;
        }
        return String.format(Locale.ROOT, (signed ? "%+." : "%.") + digits + "f", rounded);
    }
}
