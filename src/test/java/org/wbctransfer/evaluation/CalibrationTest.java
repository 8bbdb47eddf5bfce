package org.wbctransfer.evaluation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CalibrationTest {

    @Test
    void aConfidentAlwaysRightModelIsPerfectlyCalibrated() {
        float[][] p = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
        Calibration c = Calibration.of(p, new int[] {0, 1, 2});
        assertThat(c.ece()).isZero();
        assertThat(c.brier()).isZero();
        assertThat(c.nll()).isCloseTo(0, within(1e-12));
        // Top probability 1 falls in the last bin.
        assertThat(c.binCount().get(14)).isEqualTo(3);
    }

    @Test
    void handComputedFiguresOfFourImages() {
        // Two images at 0.9 confidence, one right, one wrong: bin 13 (0.867-0.933), accuracy 0.5.
        // Two at 0.6, both right: bin 9 (0.6-0.667), accuracy 1.
        float[][] p = {{0.9f, 0.1f}, {0.9f, 0.1f}, {0.6f, 0.4f}, {0.4f, 0.6f}};
        int[] truth = {0, 1, 0, 1};
        Calibration c = Calibration.of(p, truth);
        assertThat(c.binCount().get(13)).isEqualTo(2);
        assertThat(c.binCount().get(9)).isEqualTo(2);
        assertThat(c.binAccuracy().get(13)).isCloseTo(0.5, within(1e-9));
        // ECE = 2/4 |0.5 - 0.9| + 2/4 |1 - 0.6| = 0.4
        assertThat(c.ece()).isCloseTo(0.4, within(1e-6));
        // Brier per image: 2 x 0.1^2 = 0.02; 2 x 0.9^2 = 1.62; 2 x 0.4^2 = 0.32 twice: mean 0.57
        assertThat(c.brier()).isCloseTo(0.57, within(1e-6));
        // NLL: -(ln 0.9 + ln 0.1 + ln 0.6 + ln 0.6) / 4
        assertThat(c.nll()).isCloseTo(-(Math.log(0.9) + Math.log(0.1) + 2 * Math.log(0.6)) / 4, within(1e-6));
        assertThat(c.line()).isEqualTo("calibration: ECE (15 bins) 0.4000, Brier 0.5700, NLL 0.8574");
    }

    @Test
    void writesItsJsonAndTheReliabilityDiagram(@TempDir Path dir) throws Exception {
        float[][] p = {{0.9f, 0.1f}, {0.2f, 0.8f}};
        Calibration.of(p, new int[] {0, 0}).write(dir, "two images");
        assertThat(Files.readString(dir.resolve(Calibration.JSON))).contains("\"ece\"").contains("null");
        byte[] png = Files.readAllBytes(dir.resolve(Calibration.PNG));
        assertThat(png).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
    }
}
