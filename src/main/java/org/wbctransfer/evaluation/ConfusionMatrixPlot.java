package org.wbctransfer.evaluation;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Png;

/**
 * Heat map of a confusion matrix as PNG, drawn with Java2D rather than XChart's HeatMapChart: the
 * colour is the row-normalised fraction (recall-like, so classes of very different sizes stay
 * comparable) while the cell text shows the raw count, and XChart can only label a cell with the
 * value that also drives its colour.
 */
public final class ConfusionMatrixPlot {

    static {
        // Evaluation runs on servers without a display; this must be set before AWT first loads.
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    // Sequential "Blues" ramp (ColorBrewer), the palette people know from sklearn/matplotlib plots.
    private static final Color[] RAMP = {
            new Color(0xF7FBFF), new Color(0xDEEBF7), new Color(0xC6DBEF), new Color(0x9ECAE1),
            new Color(0x6BAED6), new Color(0x4292C6), new Color(0x2171B5), new Color(0x08519C),
            new Color(0x08306B)};
    private static final Color TEXT = new Color(0x202020);
    private static final Color GRID = new Color(0xB0B0B0);
    private static final String FONT = Font.SANS_SERIF;

    private ConfusionMatrixPlot() {}

    public static void writePng(ConfusionMatrix cm, Path png, String title) throws IOException {
        Objects.requireNonNull(cm, "cm");
        Objects.requireNonNull(png, "png");
        AtomicFiles.writeBytes(png, Png.bytes(render(cm, title)));
    }

    /** Renders without writing, for callers that embed the picture elsewhere. */
    public static BufferedImage render(ConfusionMatrix cm, String title) {
        Objects.requireNonNull(cm, "cm");
        String heading = (title == null || title.isBlank()) ? "Confusion matrix" : title.strip();
        List<String> names = cm.classNames();
        int n = names.size();

        // Keep the whole matrix around 600 px so 4-12 classes all stay readable.
        int cell = Math.max(36, Math.min(110, 640 / n));
        Font titleFont = new Font(FONT, Font.BOLD, 18);
        Font axisFont = new Font(FONT, Font.BOLD, 14);
        Font labelFont = new Font(FONT, Font.PLAIN, 13);
        Font countFont = new Font(FONT, Font.BOLD, Math.max(11, Math.min(18, cell / 4)));
        Font fracFont = new Font(FONT, Font.PLAIN, Math.max(9, Math.min(12, cell / 6)));
        Font tickFont = new Font(FONT, Font.PLAIN, 11);

        // Measure text on a scratch image first so the layout fits the actual class names.
        BufferedImage scratch = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D sg = scratch.createGraphics();
        FontMetrics lfm = sg.getFontMetrics(labelFont);
        FontMetrics afm = sg.getFontMetrics(axisFont);
        FontMetrics tfm = sg.getFontMetrics(titleFont);
        FontMetrics kfm = sg.getFontMetrics(tickFont);
        int maxLabel = 0;
        for (String name : names) {
            maxLabel = Math.max(maxLabel, lfm.stringWidth(name));
        }
        int titleWidth = tfm.stringWidth(heading);
        sg.dispose();

        // Column labels are rotated when they would collide with their neighbours.
        boolean rotateX = maxLabel > cell - 6;
        int xLabelHeight = rotateX ? (int) Math.ceil(maxLabel * Math.sin(Math.toRadians(45)) + lfm.getHeight())
                : lfm.getHeight();

        int pad = 16;
        int gridSize = n * cell;
        int left = pad + afm.getHeight() + 16 + maxLabel + 10;
        int top = pad + tfm.getHeight() + 12;
        int barGap = 24;
        int barWidth = 18;
        int barLabelWidth = kfm.stringWidth("100%") + 8;
        int right = barGap + barWidth + barLabelWidth + pad;
        int bottom = 8 + xLabelHeight + 8 + afm.getHeight() + pad;
        int width = Math.max(left + gridSize + right, titleWidth + 2 * pad);
        int height = top + gridSize + bottom;

        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_FRACTIONALMETRICS, RenderingHints.VALUE_FRACTIONALMETRICS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);

            g.setFont(titleFont);
            g.setColor(TEXT);
            drawCentered(g, heading, width / 2, pad + tfm.getAscent());

            FontMetrics cfm = g.getFontMetrics(countFont);
            FontMetrics ffm = g.getFontMetrics(fracFont);
            boolean showFraction = cell >= 56;
            for (int t = 0; t < n; t++) {
                long support = cm.support(t);
                for (int p = 0; p < n; p++) {
                    long count = cm.count(t, p);
                    double frac = support == 0 ? 0.0 : (double) count / support;
                    int x = left + p * cell;
                    int y = top + t * cell;
                    Color fill = ramp(frac);
                    g.setColor(fill);
                    g.fillRect(x, y, cell, cell);
                    g.setColor(luminance(fill) < 0.5 ? Color.WHITE : TEXT);
                    int cx = x + cell / 2;
                    if (showFraction) {
                        int blockHeight = cfm.getAscent() + 4 + ffm.getAscent();
                        int baseline = y + (cell - blockHeight) / 2 + cfm.getAscent();
                        g.setFont(countFont);
                        drawCentered(g, Long.toString(count), cx, baseline);
                        g.setFont(fracFont);
                        drawCentered(g, percent(frac), cx, baseline + 4 + ffm.getAscent());
                    } else {
                        g.setFont(countFont);
                        drawCentered(g, Long.toString(count), cx, y + (cell - cfm.getHeight()) / 2 + cfm.getAscent());
                    }
                }
            }

            g.setColor(GRID);
            g.setStroke(new BasicStroke(1f));
            for (int i = 0; i <= n; i++) {
                g.drawLine(left, top + i * cell, left + gridSize, top + i * cell);
                g.drawLine(left + i * cell, top, left + i * cell, top + gridSize);
            }
            // Outline the diagonal so correct predictions are spotted at a glance even in pale rows.
            g.setColor(new Color(0x333333));
            g.setStroke(new BasicStroke(1.5f));
            for (int i = 0; i < n; i++) {
                g.drawRect(left + i * cell, top + i * cell, cell, cell);
            }

            g.setFont(labelFont);
            g.setColor(TEXT);
            for (int t = 0; t < n; t++) {
                String name = names.get(t);
                int yCenter = top + t * cell + cell / 2;
                g.drawString(name, left - 10 - lfm.stringWidth(name), yCenter + (lfm.getAscent() - lfm.getDescent()) / 2);
            }
            for (int p = 0; p < n; p++) {
                String name = names.get(p);
                int xCenter = left + p * cell + cell / 2;
                if (rotateX) {
                    AffineTransform saved = g.getTransform();
                    g.translate(xCenter + lfm.getAscent() / 2.0, top + gridSize + 8);
                    g.rotate(Math.toRadians(-45));
                    // Right-align at the anchor so the label ends just under its column.
                    g.drawString(name, -lfm.stringWidth(name), 0);
                    g.setTransform(saved);
                } else {
                    drawCentered(g, name, xCenter, top + gridSize + 8 + lfm.getAscent());
                }
            }

            g.setFont(axisFont);
            drawCentered(g, "predicted", left + gridSize / 2, top + gridSize + 8 + xLabelHeight + 8 + afm.getAscent());
            AffineTransform saved = g.getTransform();
            g.translate(pad + afm.getAscent(), top + gridSize / 2.0);
            g.rotate(-Math.PI / 2);
            drawCentered(g, "true", 0, 0);
            g.setTransform(saved);

            drawColourBar(g, left + gridSize + barGap, top, barWidth, gridSize, tickFont);
        } finally {
            g.dispose();
        }
        return img;
    }

    private static void drawColourBar(Graphics2D g, int x, int y, int w, int h, Font tickFont) {
        // Piecewise gradient so the bar shows exactly the ramp used in the cells.
        int segments = RAMP.length - 1;
        for (int i = 0; i < segments; i++) {
            int y0 = y + h - (int) Math.round((double) i * h / segments);
            int y1 = y + h - (int) Math.round((double) (i + 1) * h / segments);
            g.setPaint(new GradientPaint(0, y0, RAMP[i], 0, y1, RAMP[i + 1]));
            g.fillRect(x, y1, w, y0 - y1);
        }
        g.setColor(GRID);
        g.setStroke(new BasicStroke(1f));
        g.drawRect(x, y, w, h);
        g.setFont(tickFont);
        g.setColor(TEXT);
        FontMetrics fm = g.getFontMetrics();
        for (int pct = 0; pct <= 100; pct += 25) {
            int ty = y + h - (int) Math.round(pct / 100.0 * h);
            g.drawLine(x + w, ty, x + w + 4, ty);
            g.drawString(pct + "%", x + w + 7, ty + (fm.getAscent() - fm.getDescent()) / 2);
        }
    }

    static Color ramp(double fraction) {
        double f = Math.max(0.0, Math.min(1.0, fraction)) * (RAMP.length - 1);
        int i = Math.min((int) Math.floor(f), RAMP.length - 2);
        double u = f - i;
        Color a = RAMP[i];
        Color b = RAMP[i + 1];
        return new Color(
                (int) Math.round(a.getRed() + u * (b.getRed() - a.getRed())),
                (int) Math.round(a.getGreen() + u * (b.getGreen() - a.getGreen())),
                (int) Math.round(a.getBlue() + u * (b.getBlue() - a.getBlue())));
    }

    private static double luminance(Color c) {
        return (0.2126 * c.getRed() + 0.7152 * c.getGreen() + 0.0722 * c.getBlue()) / 255.0;
    }

    private static String percent(double frac) {
        return String.format(Locale.ROOT, "%.1f%%", 100.0 * frac);
    }

    private static void drawCentered(Graphics2D g, String s, double cx, double baseline) {
        FontMetrics fm = g.getFontMetrics();
        g.drawString(s, (float) (cx - fm.stringWidth(s) / 2.0), (float) baseline);
    }
}
