package org.wbctransfer.evaluation;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Selective classification (issue 18): the model answers only when its top probability is high
 * enough and refers the rest to a person. Images are ranked by top probability; answering the
 * most confident fraction c of them (the coverage) gives an accuracy among the answered. Reported:
 * accuracy at 90, 95 and 99 % coverage, and the largest coverage whose answered images reach 99
 * and 99.5 % accuracy (0 when none does).
 */
public record Selective(Map<String, Double> accuracyAtCoverage, Map<String, Double> coverageAtAccuracy) {

    private static final double[] COVERAGES = {0.90, 0.95, 0.99};
    private static final double[] ACCURACIES = {0.99, 0.995};

    public static Selective of(float[][] probabilities, int[] truth) {
        int n = truth.length;
        int[] correctPrefix = correctPrefix(probabilities, truth);
        Map<String, Double> atCoverage = new LinkedHashMap<>();
        for (double c : COVERAGES) {
            int m = Math.max(1, (int) Math.ceil(c * n));
            atCoverage.put(key(c), (double) correctPrefix[m] / m);
        }
        Map<String, Double> atAccuracy = new LinkedHashMap<>();
        for (double a : ACCURACIES) {
            int best = 0;
            for (int m = 1; m <= n; m++) {
                if ((double) correctPrefix[m] / m >= a) {
                    best = m;
                }
            }
            atAccuracy.put(key(a), (double) best / n);
        }
        return new Selective(atCoverage, atAccuracy);
    }

    /**
     * Correct answers among the m most confident images, for m = 0..n: images ranked by top
     * probability, most confident first; ties keep input order so the figures are reproducible.
     */
    private static int[] correctPrefix(float[][] probabilities, int[] truth) {
        int n = truth.length;
        Integer[] order = new Integer[n];
        double[] top = new double[n];
        boolean[] right = new boolean[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
            int best = org.wbctransfer.model.Classifier.argMax(probabilities[i]);
            top[i] = probabilities[i][best];
            right[i] = best == truth[i];
        }
        Arrays.sort(order, (a, b) -> Double.compare(top[b], top[a]));
        int[] correctPrefix = new int[n + 1];
        for (int j = 0; j < n; j++) {
            correctPrefix[j + 1] = correctPrefix[j] + (right[order[j]] ? 1 : 0);
        }
        return correctPrefix;
    }

    /**
     * The risk-coverage curve as a PNG: the error rate among the answered images against the
     * fraction answered, answering the most confident first.
     */
    public static void writeCurve(float[][] probabilities, int[] truth, java.nio.file.Path file, String title)
            throws java.io.IOException {
        int n = truth.length;
        int[] correct = correctPrefix(probabilities, truth);
        int points = Math.min(n, 400);
        double[] xs = new double[points];
        double[] ys = new double[points];
        for (int j = 0; j < points; j++) {
            int m = Math.max(1, (int) Math.round((j + 1) * (double) n / points));
            xs[j] = (double) m / n;
            ys[j] = 100.0 * (m - correct[m]) / m;
        }
        org.knowm.xchart.XYChart chart = new org.knowm.xchart.XYChartBuilder().width(520).height(420)
                .title(title.length() > 70 ? title.substring(0, 70) + "…" : title)
                .xAxisTitle("coverage (fraction answered, most confident first)").yAxisTitle("error among the answered (%)")
                .build();
        chart.getStyler().setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0.0).setLegendVisible(false);
        chart.addSeries("risk", xs, ys).setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
        org.wbctransfer.util.AtomicFiles.writeBytes(file, org.knowm.xchart.BitmapEncoder.getBitmapBytes(chart,
                org.knowm.xchart.BitmapEncoder.BitmapFormat.PNG));
    }

    private static String key(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    /** One line for reports. */
    public String line() {
        StringBuilder sb = new StringBuilder("selective: accuracy at coverage");
        accuracyAtCoverage.forEach((c, a) -> sb.append(String.format(Locale.ROOT, " %.0f %% %.4f,",
                100 * Double.parseDouble(c), a)));
        sb.append(" coverage at accuracy");
        coverageAtAccuracy.forEach((a, c) -> sb.append(String.format(Locale.ROOT, " %s %% %.4f,",
                String.format(Locale.ROOT, "%.1f", 100 * Double.parseDouble(a)), c)));
        return sb.substring(0, sb.length() - 1);
    }

    /**
     * What a confidence floor does on labelled images: {@code answered of n images answered
     * (coverage), accuracy among the answered}, one line.
     */
    public static String atFloor(float[][] probabilities, int[] truth, double floor) {
        int answered = 0;
        int right = 0;
        for (int i = 0; i < truth.length; i++) {
            int best = org.wbctransfer.model.Classifier.argMax(probabilities[i]);
            if (probabilities[i][best] >= floor) {
                answered++;
                right += best == truth[i] ? 1 : 0;
            }
        }
        return String.format(Locale.ROOT, "at --min-confidence %s: %d of %d images answered (coverage %.2f %%), %d referred;"
                + " accuracy among the answered %s", floor, answered, truth.length, 100.0 * answered / truth.length,
                truth.length - answered, answered == 0 ? "n/a" : String.format(Locale.ROOT, "%.2f %%", 100.0 * right / answered));
    }
}
