package org.wbctransfer.experiment;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.CategoryStyler;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.util.Png;

/** XChart renderings of the experiment; every method returns PNG bytes so callers can both save and embed them. */
final class ReportPlots {

    static {
        // Reports are built on headless servers; this must be set before AWT first loads.
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    // Published bars in greys so they read as reference, not as one more arm of ours.
    private static final Color PUBLISHED_BASELINE = new Color(0x9E9E9E);
    private static final Color PUBLISHED_ENHANCED = new Color(0x505050);
    private static final Color[] ARM_COLOURS = {
            new Color(0x1F77B4), new Color(0xFF7F0E), new Color(0x2CA02C), new Color(0xD62728),
            new Color(0x9467BD), new Color(0x8C564B), new Color(0xE377C2), new Color(0x17BECF)};

    private ReportPlots() {}

    /**
     * Grouped bars per subset: one series per arm (mean over seeds, error bar = sample std, 0 for a
     * single seed) plus the published Baseline and Enhanced values.
     */
    static byte[] metricBars(ExperimentData d, Metric metric) throws IOException {
        double scale = metric.displayScale();
        CategoryChart chart = new CategoryChartBuilder().width(960).height(520)
                .title(metric.label() + " on the test split: mean \u00B1 sample std over seeds")
                .xAxisTitle("label budget").yAxisTitle(metric.label()).build();
        CategoryStyler s = chart.getStyler();
        s.setLegendPosition(Styler.LegendPosition.OutsideE);
        s.setChartBackgroundColor(Color.WHITE);
        s.setYAxisMin(0.0);
        s.setDecimalPattern(scale == 1.0 ? "0.00" : "0");
        s.setErrorBarsColor(Color.BLACK);

        List<String> x = d.subsets;
        for (String arm : d.arms) {
            List<Double> y = new ArrayList<>();
            List<Double> err = new ArrayList<>();
            boolean any = false;
            for (String subset : x) {
                Stats st = d.group(arm, subset).map(g -> g.stats(metric)).orElse(Stats.EMPTY);
                if (st.n() == 0) {
                    // XChart skips NaN bars (and their NaN error bars); null is rejected with error bars.
                    y.add(Double.NaN);
                    err.add(Double.NaN);
                } else {
                    any = true;
                    y.add(st.mean() * scale);
                    err.add(Double.isNaN(st.std()) ? 0.0 : st.std() * scale);
                }
            }
            if (any) {
                chart.addSeries(arm, x, y, err).setFillColor(armColour(d, arm));
            }
        }
        for (String published : PublishedResults.ARMS) {
            List<Double> y = new ArrayList<>();
            for (String subset : x) {
                OptionalDouble v = PublishedResults.value(published, metric, subset);
                y.add(v.isPresent() ? v.getAsDouble() * scale : null);
            }
            chart.addSeries("published " + published, x, y)
                    .setFillColor(published.equals(PublishedResults.BASELINE) ? PUBLISHED_BASELINE : PUBLISHED_ENHANCED);
        }
        return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
    }

    /**
     * One small chart per subset with the training loss of each arm's lowest finished seed; a grid
     * of small charts keeps arms comparable within a budget without 30 overlapping lines.
     */
    static Optional<byte[]> learningCurves(ExperimentData d, List<String> warnings) throws IOException {
        List<XYChart> charts = new ArrayList<>();
        for (String subset : d.subsets) {
            XYChart chart = null;
            for (String arm : d.arms) {
                Optional<ExperimentData.Group> g = d.group(arm, subset);
                if (g.isEmpty()) {
                    continue;
                }
                for (ExperimentData.Run run : g.get().runs()) {
                    Optional<double[][]> curve = trainLoss(RunDir.of(run.cell().runDir()).summary(), run.cell(), warnings);
                    if (curve.isEmpty()) {
                        continue;
                    }
                    if (chart == null) {
                        chart = new XYChartBuilder().width(560).height(340).title(subset)
                                .xAxisTitle("epoch").yAxisTitle("train loss").build();
                        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
                        chart.getStyler().setChartBackgroundColor(Color.WHITE);
                        chart.getStyler().setMarkerSize(4);
                    }
                    XYSeries series = chart.addSeries(arm + " (seed " + run.cell().seed() + ")", curve.get()[0], curve.get()[1]);
                    series.setLineColor(armColour(d, arm));
                    series.setMarkerColor(armColour(d, arm));
                    series.setMarker(SeriesMarkers.CIRCLE);
                    break;
                }
            }
            if (chart != null) {
                charts.add(chart);
            }
        }
        if (charts.isEmpty()) {
            return Optional.empty();
        }
        // Composed by hand: XChart's own grid writer fails when the grid has empty slots.
        int cols = Math.min(2, charts.size());
        int rows = (charts.size() + cols - 1) / cols;
        int w = 560;
        int h = 340;
        BufferedImage grid = new BufferedImage(cols * w, rows * h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = grid.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, grid.getWidth(), grid.getHeight());
            for (int i = 0; i < charts.size(); i++) {
                g.drawImage(BitmapEncoder.getBufferedImage(charts.get(i)), (i % cols) * w, (i / cols) * h, null);
            }
        } finally {
            g.dispose();
        }
        return Optional.of(Png.bytes(grid));
    }

    /** Fixed per arm so an arm keeps its colour across every chart of the report. */
    private static Color armColour(ExperimentData d, String arm) {
        return ARM_COLOURS[Math.max(0, d.arms.indexOf(arm)) % ARM_COLOURS.length];
    }

    /** Epochs and training losses from summary.csv, located by header name so column order may change. */
    static Optional<double[][]> trainLoss(Path summary, Cell cell, List<String> warnings) {
        if (!Files.isRegularFile(summary)) {
            return Optional.empty();
        }
        try {
            List<String> lines = Files.readAllLines(summary);
            if (lines.isEmpty()) {
                return Optional.empty();
            }
            List<String> header = Arrays.asList(lines.get(0).strip().split(",", -1));
            int epochCol = header.indexOf("epoch");
            int lossCol = header.indexOf("train_loss");
            if (epochCol < 0 || lossCol < 0) {
                warnings.add(cell.label() + ": summary.csv lacks epoch/train_loss columns");
                return Optional.empty();
            }
            List<double[]> points = new ArrayList<>();
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.strip().split(",", -1);
                if (f.length <= Math.max(epochCol, lossCol) || f[epochCol].isBlank() || f[lossCol].isBlank()) {
                    continue;
                }
                double loss = Double.parseDouble(f[lossCol]);
                if (Double.isFinite(loss)) {
                    points.add(new double[] {Double.parseDouble(f[epochCol]), loss});
                }
            }
            if (points.isEmpty()) {
                return Optional.empty();
            }
            double[][] xy = new double[2][points.size()];
            for (int i = 0; i < points.size(); i++) {
                xy[0][i] = points.get(i)[0];
                xy[1][i] = points.get(i)[1];
            }
            return Optional.of(xy);
        } catch (IOException | NumberFormatException e) {
            warnings.add(cell.label() + ": unreadable summary.csv: " + org.wbctransfer.util.UserException.firstLine(e.getMessage()));
            return Optional.empty();
        }
    }
}
