package org.wbctransfer.evaluation;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfusionMatrixPlotTest {

    @TempDir
    Path dir;

    @Test
    void writesDecodablePng() throws IOException {
        ConfusionMatrix cm = ClassificationMetricsTest.threeClass();
        Path png = dir.resolve("plots/confusion.png");
        ConfusionMatrixPlot.writePng(cm, png, "Test split");

        assertThat(png).exists();
        assertThat(Files.size(png)).isPositive();
        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img).isNotNull();
        BufferedImage expected = ConfusionMatrixPlot.render(cm, "Test split");
        assertThat(img.getWidth()).isEqualTo(expected.getWidth()).isGreaterThan(300);
        assertThat(img.getHeight()).isEqualTo(expected.getHeight()).isGreaterThan(300);
        assertThat(Files.list(png.getParent())).containsExactly(png);
    }

    @Test
    void longNamesAndManyClassesStillRender() throws IOException {
        List<String> names = List.of("neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil",
                "immature granulocyte", "erythroblast", "platelet");
        long[][] counts = new long[names.size()][names.size()];
        for (int i = 0; i < names.size(); i++) {
            counts[i][i] = 100 + i;
            counts[i][(i + 1) % names.size()] = i;
        }
        Path png = dir.resolve("many.png");
        ConfusionMatrixPlot.writePng(new ConfusionMatrix(names, counts), png, null);
        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img.getWidth()).isGreaterThan(names.size() * 36);
        assertThat(img.getHeight()).isGreaterThan(names.size() * 36);
    }

    @Test
    void rampRunsFromPaleToDark() {
        Color low = ConfusionMatrixPlot.ramp(0.0);
        Color high = ConfusionMatrixPlot.ramp(1.0);
        assertThat(low.getRed() + low.getGreen() + low.getBlue())
                .isGreaterThan(high.getRed() + high.getGreen() + high.getBlue() + 300);
    }
}
