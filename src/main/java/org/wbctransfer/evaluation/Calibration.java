package org.wbctransfer.evaluation;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.wbctransfer.util.AtomicFiles;

/**
 * How far the top probability can be trusted as a probability (issue 18): the expected
 * calibration error over equal-width confidence bins (Guo et al. 2017), the multi-class Brier
 * score (mean over images of the squared distance between the probability vector and the one-hot
 * truth, 0 to 2) and the negative log-likelihood of the true class. A model that says 0.9 should
 * be right nine times in ten; the reliability diagram shows where it is not.
 *
 * @param bins number of equal-width bins of the top probability over [0, 1]
 * @param ece sum over bins of (images in bin / images) x |accuracy - mean confidence|
 * @param brier mean multi-class Brier score
 * @param nll mean negative log-likelihood of the true class (probabilities floored at 1e-12)
 * @param binConfidence mean top probability per bin (NaN for an empty bin)
 * @param binAccuracy accuracy per bin (NaN for an empty bin)
 * @param binCount images per bin
 */
public record Calibration(int bins, double ece, double brier, double nll, List<Double> binConfidence,
        List<Double> binAccuracy, List<Long> binCount) {

    /** The usual bin count (Guo et al. 2017). */
    public static final int BINS = 15;
    public static final String JSON = "calibration.json";
    public static final String PNG = "reliability.png";

    public static Calibration of(float[][] probabilities, int[] truth) {
        return of(probabilities, truth, BINS);
    }

    public static Calibration of(float[][] probabilities, int[] truth, int bins) {
        int n = truth.length;
        if (n == 0 || probabilities.length != n) {
            throw new IllegalArgumentException("need one probability row per label, got " + probabilities.length
                    + " rows for " + n + " labels");
        }
        double[] conf = new double[bins];
        double[] hits = new double[bins];
        long[] count = new long[bins];
        double brier = 0;
        double nll = 0;
        for (int i = 0; i < n; i++) {
            float[] p = probabilities[i];
            int top = org.wbctransfer.model.Classifier.argMax(p);
            // A top probability of exactly 1 belongs to the last bin, as in (lo, hi] binning.
            int b = Math.min((int) (p[top] * bins), bins - 1);
            conf[b] += p[top];
            hits[b] += top == truth[i] ? 1 : 0;
            count[b]++;
            for (int k = 0; k < p.length; k++) {
                double d = p[k] - (k == truth[i] ? 1 : 0);
                brier += d * d;
            }
            nll -= Math.log(Math.max(p[truth[i]], 1e-12));
        }
        double ece = 0;
        List<Double> binConf = new ArrayList<>();
        List<Double> binAcc = new ArrayList<>();
        List<Long> binCount = new ArrayList<>();
        for (int b = 0; b < bins; b++) {
            double c = count[b] == 0 ? Double.NaN : conf[b] / count[b];
            double a = count[b] == 0 ? Double.NaN : hits[b] / count[b];
            if (count[b] > 0) {
                ece += (double) count[b] / n * Math.abs(a - c);
            }
            binConf.add(c);
            binAcc.add(a);
            binCount.add(count[b]);
        }
        return new Calibration(bins, ece, brier / n, nll / n, binConf, binAcc, binCount);
    }

    /** One line for reports: {@code calibration: ECE (15 bins) 0.0123, Brier 0.0456, NLL 0.1234}. */
    public String line() {
        return String.format(Locale.ROOT, "calibration: ECE (%d bins) %.4f, Brier %.4f, NLL %.4f", bins, ece, brier, nll);
    }

    /** {@value #JSON} (empty bins' means as null) and the reliability diagram {@value #PNG} into a folder. */
    public void write(Path dir, String title) throws IOException {
        java.util.Map<String, Object> json = new java.util.LinkedHashMap<>();
        json.put("bins", bins);
        json.put("ece", ece);
        json.put("brier", brier);
        json.put("nll", nll);
        json.put("binConfidence", binConfidence.stream().map(v -> v.isNaN() ? null : v).toList());
        json.put("binAccuracy", binAccuracy.stream().map(v -> v.isNaN() ? null : v).toList());
        json.put("binCount", binCount);
        org.wbctransfer.util.Json.write(dir.resolve(JSON), json);
        AtomicFiles.writeBytes(dir.resolve(PNG), png(title));
    }

    /** Accuracy against mean confidence per non-empty bin, beside the diagonal of a calibrated model. */
    byte[] png(String title) throws IOException {
        XYChart chart = new XYChartBuilder().width(520).height(520).title(title.length() > 70 ? title.substring(0, 70) + "…" : title)
                .xAxisTitle("mean top probability in the bin").yAxisTitle("accuracy in the bin").build();
        chart.getStyler().setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0.0).setYAxisMax(1.0).setLegendVisible(true);
        XYSeries diagonal = chart.addSeries("calibrated", new double[] {0, 1}, new double[] {0, 1});
        diagonal.setMarker(SeriesMarkers.NONE);
        List<Double> xs = new ArrayList<>();
        List<Double> ys = new ArrayList<>();
        for (int b = 0; b < bins; b++) {
            if (binCount.get(b) > 0) {
                xs.add(binConfidence.get(b));
                ys.add(binAccuracy.get(b));
            }
        }
        chart.addSeries(String.format(Locale.ROOT, "model (ECE %.3f)", ece), xs, ys);
        return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
    }
}
