package org.wbctransfer.experiment;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * The table of the study this project reproduces, kept as constants so every report compares
 * against the same numbers. Baseline is ResNet-18 trained from scratch; Enhanced is pre-trained on
 * Camelyon16, pRCC and WBC masks before fine-tuning. Accuracies are stored as fractions like ours;
 * the study printed them in percent with two decimals and F1 scores with two decimals.
 */
public final class PublishedResults {

    public static final String BASELINE = "Baseline";
    public static final String ENHANCED = "Enhanced";
    public static final List<String> ARMS = List.of(BASELINE, ENHANCED);
    /** The study's label budgets, in its column order. */
    public static final List<String> SUBSETS = List.of("WBC_1", "WBC_10", "WBC_50", "WBC_100");
    public static final String SOURCE = "Published study (seed study): Baseline = ResNet-18 from scratch, "
            + "Enhanced = pre-trained on Camelyon16 + pRCC + WBC masks";
    /** Decimals the study printed per metric; differences are only as precise as these. */
    public static final Map<Metric, Integer> PUBLISHED_DECIMALS =
            Map.of(Metric.ACCURACY, 2, Metric.WEIGHTED_F1, 2, Metric.MACRO_F1, 2);

    private static final Map<String, Map<Metric, double[]>> TABLE = Map.of(
            BASELINE, Map.of(
                    Metric.ACCURACY, new double[] {0.5388, 0.9248, 0.9554, 0.9606},
                    Metric.WEIGHTED_F1, new double[] {0.54, 0.93, 0.96, 0.96},
                    Metric.MACRO_F1, new double[] {0.35, 0.84, 0.91, 0.92}),
            ENHANCED, Map.of(
                    Metric.ACCURACY, new double[] {0.7384, 0.9340, 0.9635, 0.9733},
                    Metric.WEIGHTED_F1, new double[] {0.76, 0.94, 0.96, 0.97},
                    Metric.MACRO_F1, new double[] {0.63, 0.88, 0.93, 0.95}));

    private PublishedResults() {}

    /** The published value as a fraction, or empty for an unknown arm or a subset the study did not run. */
    public static OptionalDouble value(String publishedArm, Metric metric, String subset) {
        Map<Metric, double[]> arm = TABLE.get(publishedArm);
        int i = SUBSETS.indexOf(subset);
        if (arm == null || i < 0) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(arm.get(metric)[i]);
    }

    /**
     * The published arm our arm reproduces: {@code baseline} matches Baseline, any arm whose name
     * starts with {@code enhanced} matches Enhanced (we try several pre-training variants against the
     * one published Enhanced model). Case-insensitive.
     */
    public static Optional<String> matchFor(String ourArm) {
        String a = ourArm.strip().toLowerCase(Locale.ROOT);
        if (a.equals("baseline")) {
            return Optional.of(BASELINE);
        }
        if (a.startsWith("enhanced")) {
            return Optional.of(ENHANCED);
        }
        return Optional.empty();
    }

    /** Formats a published value with the precision the study printed. */
    public static String format(Metric metric, double fraction) {
        return String.format(Locale.ROOT, "%." + PUBLISHED_DECIMALS.get(metric) + "f", fraction * metric.displayScale());
    }
}
