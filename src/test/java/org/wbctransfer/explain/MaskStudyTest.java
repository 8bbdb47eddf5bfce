package org.wbctransfer.explain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.wbctransfer.TestData;

/** The localisation measure of docs/gradcam: the share of a map's mass on the cell's mask. */
class MaskStudyTest {

    @Test
    void inMaskFractionIsTheOverlapOfAConcentratedMapWithTheMask() {
        int size = 64;
        float[] heat = new float[size * size];
        double[] mask = new double[size * size];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                if (x >= 16 && x < 32 && y >= 16 && y < 32) {
                    heat[y * size + x] = 0.8f; // the map: a 16x16 square
                }
                if (x >= 24 && x < 40 && y >= 24 && y < 40) {
                    mask[y * size + x] = 1; // the cell: a 16x16 square shifted by 8 both ways
                }
            }
        }
        // 8x8 of the map's 16x16 pixels lie on the cell.
        assertThat(MaskStudy.inMaskFraction(heat, mask)).isCloseTo(0.25, within(1e-12));
        assertThat(MaskStudy.areaFraction(mask)).isCloseTo(256.0 / 4096, within(1e-12));
        assertThat(MaskStudy.peakInMask(heat, mask)).isFalse(); // a quarter of the hottest pixels are on the cell
        heat[30 * size + 30] = 1f;
        assertThat(MaskStudy.peakInMask(heat, mask)).isTrue();

        // A uniform map scores the area fraction; a map on the cell only scores 1; an empty map is undefined.
        float[] uniform = new float[size * size];
        java.util.Arrays.fill(uniform, 0.3f);
        assertThat(MaskStudy.inMaskFraction(uniform, mask)).isCloseTo(MaskStudy.areaFraction(mask), within(1e-12));
        float[] onCell = new float[size * size];
        for (int i = 0; i < onCell.length; i++) {
            onCell[i] = (float) mask[i];
        }
        assertThat(MaskStudy.inMaskFraction(onCell, mask)).isEqualTo(1.0);
        assertThat(MaskStudy.inMaskFraction(new float[size * size], mask)).isNaN();
    }

    @Test
    void theMaskGoesThroughTheCentreSquareCropAndResizeAsTheImageDoes() {
        // 128 wide, 96 high: the model sees columns 16..111. The cell (cytoplasm with a nucleus and a
        // stray grey level) fills the crop's top-right quarter; nucleus outside the crop must not count.
        BufferedImage m = new BufferedImage(128, 96, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 96; y++) {
            for (int x = 0; x < 128; x++) {
                int v = 0;
                if (x < 16 || x >= 112) {
                    v = 255; // cropped away
                } else if (x >= 64 && y < 48) {
                    v = (x >= 80 && x < 96 && y >= 16 && y < 32) ? 255 : (x == 64 ? 120 : 128);
                } else if (y == 60) {
                    v = 40; // a stray grey near background
                }
                m.getRaster().setSample(x, y, 0, v);
            }
        }
        double[] cover = MaskStudy.coverage(m, 64);
        assertThat(cover).hasSize(64 * 64);
        assertThat(MaskStudy.areaFraction(cover)).isCloseTo(0.25, within(1e-12));
        // 96 -> 64: the cell's columns 48..95 and rows 0..47 of the crop are output columns 32..63, rows 0..31.
        assertThat(cover[0 * 64 + 32]).isEqualTo(1.0);
        assertThat(cover[31 * 64 + 63]).isEqualTo(1.0);
        assertThat(cover[32 * 64 + 63]).isEqualTo(0.0);
        assertThat(cover[0 * 64 + 31]).isEqualTo(0.0);
        float[] topHalf = new float[64 * 64];
        for (int i = 0; i < 32 * 64; i++) {
            topHalf[i] = 1f;
        }
        assertThat(MaskStudy.inMaskFraction(topHalf, cover)).isCloseTo(0.5, within(1e-12));
    }

    @Test
    void areaResamplingOfARealMaskKeepsTheCellsShare() throws Exception {
        Path file = TestData.datasets().resolve("wbc-seg/tecom/masks/001.png");
        BufferedImage m = ImageIO.read(file.toFile());
        int side = Math.min(m.getWidth(), m.getHeight());
        int x0 = (m.getWidth() - side) / 2;
        int y0 = (m.getHeight() - side) / 2;
        int cell = 0;
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) {
                cell += MaskStudy.level(m, x0 + x, y0 + y) > 0 ? 1 : 0;
            }
        }
        double share = (double) cell / (side * side);
        assertThat(share).isBetween(0.05, 0.95);
        double[] cover = MaskStudy.coverage(m, 64);
        assertThat(MaskStudy.areaFraction(cover)).isCloseTo(share, within(1e-9));
        for (double c : cover) {
            assertThat(c).isBetween(0.0, 1.0 + 1e-12);
        }
    }
}
