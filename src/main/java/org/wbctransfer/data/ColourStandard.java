package org.wbctransfer.data;

/**
 * Colour standardisation of each image on its own (Reinhard et al. 2001, in CIELAB): the image's
 * per-channel mean and standard deviation of L*, a* and b* are moved to fixed reference values,
 * so that a paler, bluer or darker stain reaches the network with the colour statistics of the
 * training images. Applied to the resized input on both sides, in training and in every later
 * use of the model, so a new lab's images need no statistics of their own (unlike test-time
 * BatchNorm adaptation, which needs a batch of them).
 *
 * <p>The reference is the mean per-image statistics of Raabin-WBC training images (see
 * {@link #REFERENCE_MEAN}); any fixed values would do, since the network only ever sees
 * standardised images, but values near the training data's keep clipping rare.
 */
public final class ColourStandard implements Framing {

    /**
     * Mean over 509 Raabin-WBC training images (every 20th file of the class folders in path
     * order, centre square at 64 px) of each image's mean L*, a*, b*; {@link #REFERENCE_STD}
     * likewise for the per-image standard deviations. Measured once with {@link #stats}; changing
     * them changes the cache key, and bundles that recorded other values are refused on load.
     */
    public static final double[] REFERENCE_MEAN = {59.24, 21.04, -2.73};
    public static final double[] REFERENCE_STD = {17.15, 11.12, 13.21};

    /** Below this spread a channel is only shifted (a flat channel would otherwise blow up noise). */
    static final double MIN_STD = 1.0;

    public static final ColourStandard INSTANCE = new ColourStandard();

    private ColourStandard() {}

    @Override
    public java.awt.image.BufferedImage frame(java.awt.image.BufferedImage image) {
        return image;
    }

    @Override
    public byte[] finish(byte[] rgb) {
        int n = rgb.length / 3;
        float[] lab = lab(rgb);
        double[][] ms = stats(lab);
        double[] scale = new double[3];
        double[] shift = new double[3];
        for (int c = 0; c < 3; c++) {
            scale[c] = ms[1][c] < MIN_STD ? 1.0 : REFERENCE_STD[c] / ms[1][c];
            shift[c] = REFERENCE_MEAN[c] - ms[0][c] * scale[c];
        }
        byte[] out = new byte[rgb.length];
        float[] px = new float[3];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < 3; c++) {
                px[c] = (float) (lab[3 * i + c] * scale[c] + shift[c]);
            }
            fromLab(px, out, 3 * i);
        }
        return out;
    }

    /** Per-channel mean ({@code [0]}) and population standard deviation ({@code [1]}) of interleaved L*a*b* values. */
    public static double[][] stats(float[] lab) {
        int n = lab.length / 3;
        double[] sum = new double[3];
        double[] sq = new double[3];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < 3; c++) {
                double v = lab[3 * i + c];
                sum[c] += v;
                sq[c] += v * v;
            }
        }
        double[][] ms = new double[2][3];
        for (int c = 0; c < 3; c++) {
            ms[0][c] = sum[c] / n;
            ms[1][c] = Math.sqrt(Math.max(0, sq[c] / n - ms[0][c] * ms[0][c]));
        }
        return ms;
    }

    /** Interleaved RGB bytes as interleaved L*a*b* (D65). */
    public static float[] lab(byte[] rgb) {
        float[] lab = new float[rgb.length];
        for (int i = 0; i < rgb.length / 3; i++) {
            toLab(rgb[3 * i] & 0xff, rgb[3 * i + 1] & 0xff, rgb[3 * i + 2] & 0xff, lab, 3 * i);
        }
        return lab;
    }

    private static final float[] LINEAR = new float[256];

    static {
        for (int v = 0; v < 256; v++) {
            double s = v / 255.0;
            LINEAR[v] = (float) (s <= 0.04045 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4));
        }
    }

    // D65 white point of sRGB.
    private static final double XN = 0.95047;
    private static final double ZN = 1.08883;

    static void toLab(int r, int g, int b, float[] out, int o) {
        double lr = LINEAR[r];
        double lg = LINEAR[g];
        double lb = LINEAR[b];
        double x = (0.4124564 * lr + 0.3575761 * lg + 0.1804375 * lb) / XN;
        double y = 0.2126729 * lr + 0.7151522 * lg + 0.0721750 * lb;
        double z = (0.0193339 * lr + 0.1191920 * lg + 0.9503041 * lb) / ZN;
        double fx = f(x);
        double fy = f(y);
        double fz = f(z);
        out[o] = (float) (116 * fy - 16);
        out[o + 1] = (float) (500 * (fx - fy));
        out[o + 2] = (float) (200 * (fy - fz));
    }

    static void fromLab(float[] lab, byte[] out, int o) {
        double fy = (lab[0] + 16) / 116.0;
        double fx = fy + lab[1] / 500.0;
        double fz = fy - lab[2] / 200.0;
        double x = finv(fx) * XN;
        double y = finv(fy);
        double z = finv(fz) * ZN;
        double lr = 3.2404542 * x - 1.5371385 * y - 0.4985314 * z;
        double lg = -0.9692660 * x + 1.8760108 * y + 0.0415560 * z;
        double lb = 0.0556434 * x - 0.2040259 * y + 1.0572252 * z;
        out[o] = gamma(lr);
        out[o + 1] = gamma(lg);
        out[o + 2] = gamma(lb);
    }

    private static final double EPS = 216.0 / 24389;
    private static final double KAPPA = 24389.0 / 27;

    private static double f(double t) {
        return t > EPS ? Math.cbrt(t) : (KAPPA * t + 16) / 116;
    }

    private static double finv(double f) {
        double t = f * f * f;
        return t > EPS ? t : (116 * f - 16) / KAPPA;
    }

    private static byte gamma(double linear) {
        double c = linear <= 0 ? 0 : linear >= 1 ? 1 : linear;
        double s = c <= 0.0031308 ? 12.92 * c : 1.055 * Math.pow(c, 1 / 2.4) - 0.055;
        return (byte) Math.round(s * 255);
    }

    @Override
    public String key() {
        return "colour-standard-lab:" + java.util.Arrays.toString(REFERENCE_MEAN) + java.util.Arrays.toString(REFERENCE_STD);
    }

    @Override
    public String summary() {
        return "colour standardised to L*a*b* mean " + java.util.Arrays.toString(REFERENCE_MEAN) + ", std "
                + java.util.Arrays.toString(REFERENCE_STD);
    }
}
