package org.wbctransfer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.wbctransfer.TestData;

class ColourStandardTest {

    @Test
    void labConversionRoundTripsEverySrgbColourToWithinOneLevel() {
        byte[] rgb = new byte[3];
        float[] lab = new float[3];
        byte[] back = new byte[3];
        int worst = 0;
        for (int r = 0; r < 256; r += 5) {
            for (int g = 0; g < 256; g += 5) {
                for (int b = 0; b < 256; b += 5) {
                    ColourStandard.toLab(r, g, b, lab, 0);
                    ColourStandard.fromLab(lab, back, 0);
                    worst = Math.max(worst, Math.max(Math.abs((back[0] & 0xff) - r),
                            Math.max(Math.abs((back[1] & 0xff) - g), Math.abs((back[2] & 0xff) - b))));
                }
            }
        }
        assertThat(worst).isLessThanOrEqualTo(1);
        // Known values (D65): white is L* 100, a* = b* = 0; sRGB red is about (53.2, 80.1, 67.2).
        ColourStandard.toLab(255, 255, 255, lab, 0);
        assertThat(lab[0]).isCloseTo(100f, within(0.01f));
        assertThat(lab[1]).isCloseTo(0f, within(0.01f));
        ColourStandard.toLab(255, 0, 0, lab, 0);
        assertThat(lab[0]).isCloseTo(53.24f, within(0.05f));
        assertThat(lab[1]).isCloseTo(80.09f, within(0.05f));
        assertThat(lab[2]).isCloseTo(67.20f, within(0.05f));
    }

    @Test
    void aStandardisedCellHasTheReferenceStatisticsWhateverItsStain() throws Exception {
        Path file = firstRaabinImage();
        byte[] rgb = ImageDecoder.decodeRgb(file, 64);
        // The same cell under another stain: paler, bluer and with less contrast.
        byte[] other = new byte[rgb.length];
        for (int i = 0; i < rgb.length; i += 3) {
            other[i] = (byte) Math.min(255, 60 + (rgb[i] & 0xff) * 0.7);
            other[i + 1] = (byte) Math.min(255, 70 + (rgb[i + 1] & 0xff) * 0.75);
            other[i + 2] = (byte) Math.min(255, 90 + (rgb[i + 2] & 0xff) * 0.65);
        }
        byte[] a = ColourStandard.INSTANCE.finish(rgb);
        byte[] b = ColourStandard.INSTANCE.finish(other);
        double[][] sa = ColourStandard.stats(ColourStandard.lab(a));
        for (int c = 0; c < 3; c++) {
            // Rounding to 8 bits and clipping at the gamut move them a little.
            assertThat(sa[0][c]).as("mean of channel " + c).isCloseTo(ColourStandard.REFERENCE_MEAN[c], within(1.5));
            assertThat(sa[1][c]).as("std of channel " + c).isCloseTo(ColourStandard.REFERENCE_STD[c], within(1.5));
        }
        // The two stains are far apart before and close after.
        assertThat(meanAbsDiff(a, b)).isLessThan(meanAbsDiff(rgb, other) / 4);
        assertThat(meanAbsDiff(a, b)).isLessThan(6);
    }

    @Test
    void aFlatImageIsOnlyShiftedAndStaysFlat() {
        byte[] grey = new byte[3 * 16 * 16];
        java.util.Arrays.fill(grey, (byte) 128);
        byte[] out = ColourStandard.INSTANCE.finish(grey);
        for (int i = 3; i < out.length; i++) {
            assertThat(out[i]).isEqualTo(out[i % 3]);
        }
        float[] lab = ColourStandard.lab(java.util.Arrays.copyOf(out, 3));
        assertThat((double) lab[0]).isCloseTo(ColourStandard.REFERENCE_MEAN[0], within(0.5));
    }

    @Test
    void chainedFramingsApplyBothAndNameBoth() throws Exception {
        Framing half = new Framing() {
            @Override
            public java.awt.image.BufferedImage frame(java.awt.image.BufferedImage image) {
                return image.getSubimage(0, 0, image.getWidth() / 2, image.getHeight() / 2);
            }

            @Override
            public String key() {
                return "half";
            }

            @Override
            public String summary() {
                return "top-left quarter";
            }
        };
        Framing both = Framing.chain(half, ColourStandard.INSTANCE);
        assertThat(Framing.chain(null, ColourStandard.INSTANCE)).isSameAs(ColourStandard.INSTANCE);
        assertThat(Framing.chain(half, null)).isSameAs(half);
        assertThat(both.key()).startsWith("half+colour-standard-lab");
        Path file = firstRaabinImage();
        byte[] expected = ColourStandard.INSTANCE.finish(ImageDecoder.toRgb(ImageDecoder.resizeSquare(
                half.frame(ImageDecoder.read(file, 32)), 32)));
        assertThat(ImageDecoder.decodeRgb(file, 32, both)).isEqualTo(expected);
        // The cache keeps standardised pixels apart from plain ones.
        List<String> paths = List.of(TestData.raabin().relativize(file).toString());
        assertThat(ImageCache.key(TestData.raabin(), paths, 32, ColourStandard.INSTANCE))
                .isNotEqualTo(ImageCache.key(TestData.raabin(), paths, 32, null));
    }

    private static Path firstRaabinImage() throws Exception {
        try (var s = Files.walk(TestData.raabin().resolve("Neutrophil"))) {
            return s.filter(Files::isRegularFile).sorted().findFirst().orElseThrow();
        }
    }

    private static double meanAbsDiff(byte[] a, byte[] b) {
        long sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += Math.abs((a[i] & 0xff) - (b[i] & 0xff));
        }
        return (double) sum / a.length;
    }
}
