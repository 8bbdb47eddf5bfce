package org.wbctransfer.evaluation;

import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.wbctransfer.data.Batch;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.ImageCache;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelMetadata;
import org.wbctransfer.model.OodDetector;

/**
 * Fits a model's out-of-distribution score: the Mahalanobis statistics on the training images'
 * features, then the flagging threshold at a percentile of the scores of held-out images of the
 * training distribution (the validation carve-out), so that about {@code 100 - percentile} % of
 * such images are flagged. The test split plays no part.
 */
public final class OodFit {

    /** Flag what scores above 99 % of held-out training-distribution images. */
    public static final double PERCENTILE = 99.0;
    /** A folder with more than this fraction flagged gets a warning (about 1 % is expected in distribution). */
    public static final double WARN_FRACTION = 0.10;
    /** The score used: Mahalanobis on the pooled features, chosen by the study in docs/ood (validation vs a wbc-seg source). */
    public static final OodDetector.Score DEFAULT_SCORE = OodDetector.Score.MAHALANOBIS;

    private OodFit() {}

    /** Every stage's pooled features of the samples' plain (unaugmented) images, in sample order. */
    public static float[][] features(Classifier c, ImageCache cache, List<BatchLoader.Sample> samples) {
        int size = c.metadata().imageSize();
        float[][] out = new float[samples.size()][];
        try (BatchLoader loader = new BatchLoader(cache, samples, Evaluation.plain(c), false, 64)) {
            Iterator<Batch> it = loader.epoch(0, 0, false);
            while (it.hasNext()) {
                Batch b = it.next();
                float[][] f = c.features(b.images(), b.size(), size, true);
                for (int k = 0; k < b.size(); k++) {
                    out[b.samples()[k]] = f[k];
                }
            }
        }
        return out;
    }

    public static OodDetector detector(Classifier c, ImageCache cache, List<BatchLoader.Sample> train) {
        int[] labels = train.stream().mapToInt(BatchLoader.Sample::label).toArray();
        return OodDetector.fit(features(c, cache, train), labels, c.metadata().classes().size());
    }

    /** The p-th percentile (0..100) of the values, by the nearest-rank rule. */
    public static double percentile(double[] values, double p) {
        double[] v = values.clone();
        Arrays.sort(v);
        int rank = (int) Math.ceil(p / 100.0 * v.length);
        return v[Math.max(0, Math.min(v.length - 1, rank - 1))];
    }

    /** The metadata block for a score whose held-out values are {@code heldOut}. */
    public static ModelMetadata.Ood block(OodDetector.Score score, double[] heldOut, String fittedOn, int fitImages) {
        return new ModelMetadata.Ood(score.key(), percentile(heldOut, PERCENTILE), PERCENTILE, WARN_FRACTION, fittedOn,
                fitImages, heldOut.length, score == OodDetector.Score.MAHALANOBIS ? OodDetector.FILE : null);
    }

    /**
     * The area under the ROC curve for telling {@code outside} from {@code inside} by a score that
     * is larger outside (the probability that a random outside image scores above a random inside
     * one, ties counting half): 0.5 is chance, 1 perfect.
     */
    public static double auroc(double[] inside, double[] outside) {
        double[] in = inside.clone();
        Arrays.sort(in);
        double sum = 0;
        for (double o : outside) {
            int below = lowerBound(in, o);
            int upTo = upperBound(in, o);
            sum += below + 0.5 * (upTo - below);
        }
        return sum / ((double) in.length * outside.length);
    }

    private static int lowerBound(double[] a, double x) {
        int lo = 0;
        int hi = a.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (a[mid] < x) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private static int upperBound(double[] a, double x) {
        int lo = 0;
        int hi = a.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (a[mid] <= x) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
