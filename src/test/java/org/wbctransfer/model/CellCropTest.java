package org.wbctransfer.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.Color;
import java.awt.image.BufferedImage;
import org.junit.jupiter.api.Test;

class CellCropTest {

    /** An s x s label map with rectangles of a label painted in. */
    private static byte[] labels(int s, int[]... rects) {
        byte[] l = new byte[s * s];
        for (int[] r : rects) { // x0, y0, x1, y1 (exclusive), label
            for (int y = r[1]; y < r[3]; y++) {
                for (int x = r[0]; x < r[2]; x++) {
                    l[y * s + x] = (byte) r[4];
                }
            }
        }
        return l;
    }

    @Test
    void theCellIsAroundTheLargestNucleusWithinItsRegion() {
        int s = 40;
        // A red cell (cytoplasm only, larger) at the top left, the white cell lower right.
        byte[] l = labels(s, new int[] {0, 0, 14, 14, 1}, new int[] {20, 22, 34, 36, 1}, new int[] {24, 26, 30, 32, 2});
        // Its region (14 px across, within 3x the 6 px nucleus) is the cell's outline.
        assertThat(CellCrop.cellBox(l, s)).containsExactly(20, 22, 34, 36);
    }

    @Test
    void nearbyLobesJoinTheNucleusAndFarBlobsDoNot() {
        int s = 80;
        byte[] l = labels(s, new int[] {0, 0, 80, 80, 1}, // every cell joined into one region
                new int[] {30, 30, 40, 40, 2}, // the largest lobe, 10 px
                new int[] {42, 32, 46, 38, 2}, // a lobe 2 px away (within ceil(2.5) = 3): joins
                new int[] {49, 31, 54, 37, 2}, // 3 px beyond that lobe but 9 px from the largest: no chain
                new int[] {2, 2, 7, 7, 2}, // a blob far away (a red cell read as nucleus)
                new int[] {26, 41, 27, 42, 2}); // a speck next to it
        // Nucleus 30..46 x 30..40, longer side 16, grown by ceil(5.6) = 6.
        assertThat(CellCrop.cellBox(l, s)).containsExactly(24, 24, 52, 46);
    }

    @Test
    void aCentralNucleusBeatsALargerOneInACorner() {
        int s = 80;
        // 144 px in the corner (about 45 px from the middle: weight 0.5^2) against 100 px in the middle.
        byte[] l = labels(s, new int[] {0, 0, 12, 12, 2}, new int[] {35, 35, 45, 45, 2});
        // The middle one, grown by ceil(3.5) = 4, clipped to its own region (the blob itself here).
        assertThat(CellCrop.cellBox(l, s)).containsExactly(35, 35, 45, 45);
    }

    @Test
    void noNucleusOrASpeckOfOneFindsNoCell() {
        int s = 40;
        assertThat(CellCrop.cellBox(labels(s, new int[] {5, 5, 30, 30, 1}), s)).isNull();
        // 2 nucleus pixels of 1600 is under the 0.2 % floor (3.2 pixels).
        assertThat(CellCrop.cellBox(labels(s, new int[] {5, 5, 30, 30, 1}, new int[] {10, 10, 12, 11, 2}), s)).isNull();
    }

    @Test
    void cytoplasmBleedingIntoNeighboursIsCutAtTheNucleusReach() {
        int s = 60;
        // A 6 px nucleus inside a cytoplasm band that runs across the whole image (touching red cells).
        byte[] l = labels(s, new int[] {0, 20, 60, 40, 1}, new int[] {27, 27, 33, 33, 2});
        // Nucleus box 27..33 grown by ceil(0.35 x 6) = 3 on each side: 24..36, inside the band (y 20..40).
        assertThat(CellCrop.cellBox(l, s)).containsExactly(24, 24, 36, 36);
    }

    @Test
    void theBorderColourIsTheMeanOfTheOuterRing() {
        BufferedImage img = new BufferedImage(10, 8, BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D g = img.createGraphics();
        g.setColor(new Color(200, 180, 160));
        g.fillRect(0, 0, 10, 8);
        g.setColor(Color.BLACK);
        g.fillRect(1, 1, 8, 6); // the interior does not count
        g.dispose();
        assertThat(CellCrop.borderColour(img)).isEqualTo(new Color(200, 180, 160));
    }
}
