package org.wbctransfer.data;

import java.util.List;

/**
 * Per-channel mean and standard deviation of pixel values in [0, 1], computed from the training
 * images of a run and recorded with the model, so inference normalizes exactly as training did.
 */
public record Normalization(double[] mean, double[] std) {

    public static Normalization imagenet() {
        return new Normalization(new double[] {0.485, 0.456, 0.406}, new double[] {0.229, 0.224, 0.225});
    }

    /** Statistics over every pixel of the given RGB (HWC) images. */
    public static Normalization compute(List<byte[]> images) {
        double[] sum = new double[3];
        double[] sq = new double[3];
        long n = 0;
        for (byte[] img : images) {
            for (int i = 0; i < img.length; i += 3) {
                for (int c = 0; c < 3; c++) {
                    double v = (img[i + c] & 0xff) / 255.0;
                    sum[c] += v;
                    sq[c] += v * v;
                }
            }
            n += img.length / 3;
        }
        if (n == 0) {
            throw new IllegalArgumentException("no pixels to compute normalization from");
        }
        double[] mean = new double[3];
        double[] std = new double[3];
        for (int c = 0; c < 3; c++) {
            mean[c] = sum[c] / n;
            std[c] = Math.sqrt(Math.max(sq[c] / n - mean[c] * mean[c], 1e-12));
        }
        return new Normalization(mean, std);
    }
}
