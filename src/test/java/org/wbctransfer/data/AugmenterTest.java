package org.wbctransfer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.wbctransfer.config.Augmentation;

class AugmenterTest {

    private static final Normalization IDENTITY = new Normalization(new double[] {0, 0, 0}, new double[] {1, 1, 1});

    private static byte[] randomRgb(int size, long seed) {
        byte[] b = new byte[size * size * 3];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Clockwise quarter turn of an HWC image, written out index by index. */
    private static byte[] rotate90(byte[] in, int s) {
        byte[] out = new byte[in.length];
        for (int y = 0; y < s; y++) {
            for (int x = 0; x < s; x++) {
                int src = 3 * ((s - 1 - x) * s + y);
                int dst = 3 * (y * s + x);
                System.arraycopy(in, src, out, dst, 3);
            }
        }
        return out;
    }

    /** Undoes the identity normalization: CHW floats in [0,1] back to HWC bytes. */
    private static byte[] toBytes(float[] chw, int s) {
        int plane = s * s;
        byte[] out = new byte[plane * 3];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < plane; i++) {
                float v = chw[c * plane + i] * 255f;
                // A right-angle turn copies pixels; any interpolation would leave a fraction here.
                assertThat((double) v).isCloseTo(Math.rint(v), within(1e-3));
                out[3 * i + c] = (byte) Math.rint(v);
            }
        }
        return out;
    }

    private static int[] histogram(byte[] b) {
        int[] h = new int[256];
        for (byte v : b) {
            h[v & 0xff]++;
        }
        return h;
    }

    @Test
    void plainNormalizesEachChannelIntoChwLayout() {
        int s = 2;
        Normalization norm = Normalization.imagenet();
        Augmenter a = new Augmenter(Augmentation.none(), norm, s);
        byte[] rgb = {
            (byte) 0, (byte) 128, (byte) 255,   (byte) 10, (byte) 20, (byte) 30,
            (byte) 200, (byte) 100, (byte) 50,  (byte) 255, (byte) 0, (byte) 1};
        int offset = 5;
        float[] out = new float[offset + 3 * s * s + 2];
        Arrays.fill(out, -99f);

        a.plain(rgb, out, offset);

        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < s * s; i++) {
                double v = rgb[3 * i + c] & 0xff;
                double expected = (v / 255.0 - norm.mean()[c]) / norm.std()[c];
                assertThat((double) out[offset + c * s * s + i]).as("c=%d i=%d", c, i).isCloseTo(expected, within(1e-5));
            }
        }
        // Hand-checked: green 128 -> (128/255 - 0.456) / 0.224
        assertThat((double) out[offset + 4]).isCloseTo(0.2051820728, within(1e-5));
        // Nothing outside [offset, offset + 3*s*s) is written.
        assertThat(Arrays.copyOfRange(out, 0, offset)).containsOnly(-99f);
        assertThat(Arrays.copyOfRange(out, offset + 12, out.length)).containsOnly(-99f);
    }

    @ParameterizedTest
    @ValueSource(ints = {7, 8})
    void rightAngleRotationIsAnExactQuarterTurn(int s) {
        Augmentation rot = new Augmentation(false, Augmentation.Rotation.RIGHT_ANGLE, 0, 0, 0, 0, 0, 0);
        Augmenter a = new Augmenter(rot, IDENTITY, s);
        byte[] in = randomRgb(s, 11);
        List<byte[]> turns = new ArrayList<>();
        byte[] t = in;
        for (int k = 0; k < 4; k++) {
            turns.add(t);
            t = rotate90(t, s);
        }
        assertThat(t).as("four quarter turns are the identity").isEqualTo(in);

        Set<Integer> seen = new HashSet<>();
        for (int sample = 0; sample < 64; sample++) {
            float[] out = new float[3 * s * s];
            a.augment(in, Augmenter.sampleSeed(1, 0, sample), out, 0);
            byte[] got = toBytes(out, s);

            assertThat(histogram(got)).isEqualTo(histogram(in));
            int match = -1;
            for (int k = 0; k < 4; k++) {
                if (Arrays.equals(got, turns.get(k))) {
                    match = k;
                }
            }
            assertThat(match).as("sample %d is one of the four rotations", sample).isNotNegative();
            seen.add(match);
        }
        assertThat(seen).as("all four rotations are drawn").containsExactlyInAnyOrder(0, 1, 2, 3);
    }

    @Test
    void sameSeedGivesTheSameOutputAndOtherSeedsDiffer() {
        int s = 16;
        Augmenter a = new Augmenter(Augmentation.standard(), Normalization.imagenet(), s);
        byte[] in = randomRgb(s, 3);
        float[] first = new float[3 * s * s];
        float[] again = new float[3 * s * s];
        a.augment(in, Augmenter.sampleSeed(42, 3, 17), first, 0);
        a.augment(in, Augmenter.sampleSeed(42, 3, 17), again, 0);
        assertThat(again).isEqualTo(first);

        // A fresh Augmenter holds no hidden state either.
        float[] fresh = new float[3 * s * s];
        new Augmenter(Augmentation.standard(), Normalization.imagenet(), s).augment(in, Augmenter.sampleSeed(42, 3, 17), fresh, 0);
        assertThat(fresh).isEqualTo(first);

        Set<String> distinct = new HashSet<>();
        for (int sample = 0; sample < 10; sample++) {
            float[] out = new float[3 * s * s];
            a.augment(in, Augmenter.sampleSeed(42, 3, sample), out, 0);
            distinct.add(Arrays.toString(out));
        }
        // Colour jitter draws continuous factors, so ten samples give ten different images.
        assertThat(distinct).hasSize(10);
    }

    @Test
    void sampleSeedDependsOnEveryArgument() {
        long base = Augmenter.sampleSeed(42, 3, 17);
        assertThat(Augmenter.sampleSeed(42, 3, 17)).isEqualTo(base);
        assertThat(Augmenter.sampleSeed(43, 3, 17)).isNotEqualTo(base);
        assertThat(Augmenter.sampleSeed(42, 4, 17)).isNotEqualTo(base);
        assertThat(Augmenter.sampleSeed(42, 3, 18)).isNotEqualTo(base);
        assertThat(Augmenter.sampleSeed(42, 17, 3)).isNotEqualTo(base);
    }

    @Test
    void strongJitterStaysFiniteAndInsideTheNormalizedUnitRange() {
        int s = 12;
        Normalization norm = Normalization.imagenet();
        Augmentation strong = new Augmentation(true, Augmentation.Rotation.FREE, 0.3, 0.2, 0.9, 0.9, 0.9, 0.5);
        Augmenter a = new Augmenter(strong, norm, s);
        Augmenter plain = new Augmenter(Augmentation.none(), norm, s);
        byte[] white = new byte[s * s * 3];
        Arrays.fill(white, (byte) 255);
        List<byte[]> inputs = List.of(randomRgb(s, 5), white, new byte[s * s * 3]);
        int plane = s * s;
        for (byte[] in : inputs) {
            float[] unaugmented = new float[3 * plane];
            plain.plain(in, unaugmented, 0);
            int changed = 0;
            for (int sample = 0; sample < 50; sample++) {
                float[] out = new float[3 * plane];
                a.augment(in, Augmenter.sampleSeed(9, 0, sample), out, 0);
                for (int c = 0; c < 3; c++) {
                    double lo = (0 - norm.mean()[c]) / norm.std()[c];
                    double hi = (1 - norm.mean()[c]) / norm.std()[c];
                    for (int i = 0; i < plane; i++) {
                        float v = out[c * plane + i];
                        assertThat(Float.isFinite(v)).isTrue();
                        assertThat((double) v).isBetween(lo - 1e-5, hi + 1e-5);
                    }
                }
                if (!Arrays.equals(out, unaugmented)) {
                    changed++;
                }
            }
            if (in == inputs.get(0)) {
                assertThat(changed).as("jitter changes a textured image").isGreaterThan(45);
            }
        }
    }

    private static Augmentation levers(double zoomMin, double zoomMax, double stain, double grey, double blur, double jpeg) {
        return new Augmentation(false, Augmentation.Rotation.NONE, 0, 0, 0, 0, 0, 0, zoomMin, zoomMax, stain, grey, blur, jpeg);
    }

    /** A disc of one colour on a background of another: a cell on a slide. */
    private static byte[] cell(int s, int[] inside, int[] outside) {
        byte[] b = new byte[s * s * 3];
        double c = (s - 1) / 2.0;
        for (int y = 0; y < s; y++) {
            for (int x = 0; x < s; x++) {
                int[] col = Math.hypot(x - c, y - c) < s / 4.0 ? inside : outside;
                for (int k = 0; k < 3; k++) {
                    b[3 * (y * s + x) + k] = (byte) col[k];
                }
            }
        }
        return b;
    }

    @Test
    void zoomingOutShrinksTheCellAndFillsTheFrameWithTheBorderColour() {
        int s = 32;
        byte[] img = cell(s, new int[] {90, 40, 120}, new int[] {230, 200, 210});
        float[] out = new float[3 * s * s];
        new Augmenter(levers(0.5, 0.5, 0, 0, 0, 0), IDENTITY, s).augment(img, 7, out, 0);
        // Corner: outside the shrunk source frame, so the border's mean colour, not a smeared edge pixel.
        assertThat((double) out[0]).isCloseTo(230 / 255.0, within(1e-5));
        assertThat((double) out[2 * s * s]).isCloseTo(210 / 255.0, within(1e-5));
        // The disc had radius s/4; at half size its radius is s/8: a pixel at 3s/16 from the centre is now background.
        int y = s / 2;
        int x = s / 2 + 3 * s / 16;
        assertThat((double) out[y * s + x]).isCloseTo(230 / 255.0, within(1e-5));
        assertThat((double) out[y * s + s / 2]).isCloseTo(90 / 255.0, within(1e-5));
        // Zooming in by 2 makes the disc cover that pixel.
        new Augmenter(levers(2, 2, 0, 0, 0, 0), IDENTITY, s).augment(img, 7, out, 0);
        assertThat((double) out[y * s + x]).isCloseTo(90 / 255.0, within(1e-5));
    }

    @Test
    void hedMatricesAreInversesAndAZeroJitterKeepsStainedPixels() {
        double[][] m = {{0.65, 0.70, 0.29}, {0.07, 0.99, 0.11}, {0.27, 0.57, 0.78}};
        double[][] inv = StainJitter.invert(m);
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                double v = 0;
                for (int k = 0; k < 3; k++) {
                    v += m[i][k] * inv[k][j];
                }
                assertThat(v).isCloseTo(i == j ? 1 : 0, within(1e-12));
            }
        }
        // A purple nucleus pixel lies inside the H-E-D cone, so deconvolution and back returns it.
        float[] r = {0.45f};
        float[] g = {0.25f};
        float[] b = {0.60f};
        StainJitter.apply(new java.util.SplittableRandom(1), 0, r, g, b);
        assertThat((double) r[0]).isCloseTo(0.45, within(1e-5));
        assertThat((double) g[0]).isCloseTo(0.25, within(1e-5));
        assertThat((double) b[0]).isCloseTo(0.60, within(1e-5));
    }

    @Test
    void stainJitterChangesColoursWithinItsRangeAndDependsOnTheSeed() {
        int s = 32;
        byte[] img = cell(s, new int[] {110, 60, 150}, new int[] {235, 205, 215});
        float[] a = new float[3 * s * s];
        float[] b = new float[3 * s * s];
        new Augmenter(levers(0, 0, 0.2, 0, 0, 0), IDENTITY, s).augment(img, 1, a, 0);
        new Augmenter(levers(0, 0, 0.2, 0, 0, 0), IDENTITY, s).augment(img, 2, b, 0);
        assertThat(a).isNotEqualTo(b);
        float centre = a[(s / 2) * s + s / 2];
        assertThat((double) centre).isBetween(0.0, 1.0).isNotCloseTo(110 / 255.0, within(1e-4));
        for (float v : a) {
            assertThat((double) v).isBetween(0.0, 1.0);
        }
    }

    @Test
    void greyBlurAndJpegDoWhatTheySay() {
        int s = 32;
        byte[] img = randomRgb(s, 3);
        float[] out = new float[3 * s * s];
        int plane = s * s;
        new Augmenter(levers(0, 0, 0, 1, 0, 0), IDENTITY, s).augment(img, 5, out, 0);
        for (int i = 0; i < plane; i++) {
            assertThat(out[i]).isEqualTo(out[plane + i]).isEqualTo(out[2 * plane + i]);
        }
        float[] plain = new float[3 * plane];
        new Augmenter(Augmentation.none(), IDENTITY, s).plain(img, plain, 0);
        // Blur is applied to half the images: over a few seeds, the blurred ones lose most of the noise's variance.
        int blurred = 0;
        for (long seed = 0; seed < 8; seed++) {
            new Augmenter(levers(0, 0, 0, 0, 2, 0), IDENTITY, s).augment(img, seed, out, 0);
            if (variance(out, plane) < 0.3 * variance(plain, plane)) {
                blurred++;
            }
        }
        assertThat(blurred).isBetween(1, 7);
        byte[] smooth = cell(s, new int[] {110, 60, 150}, new int[] {235, 205, 215});
        new Augmenter(Augmentation.none(), IDENTITY, s).plain(smooth, plain, 0);
        new Augmenter(levers(0, 0, 0, 0, 0, 1), IDENTITY, s).augment(smooth, 9, out, 0);
        double diff = 0;
        for (int i = 0; i < out.length; i++) {
            diff += Math.abs(out[i] - plain[i]);
        }
        assertThat(diff / out.length).as("JPEG changes pixels a little").isBetween(1e-4, 0.05);
    }

    private static double variance(float[] v, int n) {
        double mean = 0;
        for (int i = 0; i < n; i++) {
            mean += v[i];
        }
        mean /= n;
        double var = 0;
        for (int i = 0; i < n; i++) {
            var += (v[i] - mean) * (v[i] - mean);
        }
        return var / n;
    }

    @Test
    void configsWrittenBeforeTheLeversReadBackAsTheSameRecipe() throws Exception {
        String old = "{\"flip\":true,\"rotation\":\"RIGHT_ANGLE\",\"scale\":0.0,\"translate\":0.0,"
                + "\"brightness\":0.1,\"contrast\":0.1,\"saturation\":0.1,\"hue\":0.02}";
        assertThat(org.wbctransfer.util.Json.MAPPER.readValue(old, Augmentation.class)).isEqualTo(Augmentation.standard());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> levers(2, 1, 0, 0, 0, 0))
                .hasMessageContaining("zoom range");
    }
}
