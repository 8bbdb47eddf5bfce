package org.wbctransfer.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.wbctransfer.config.Augmentation;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.Batch;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.ImageCache;
import org.wbctransfer.model.Classifier;

/**
 * The prediction half of the memory soak ({@code bench/soak.sh}): {@link Classifier#probabilities}
 * over decoded, cached images, cycling through them until n predictions are done. Images come
 * from the decode cache, so the loop spends its time in the model and any growth of the process
 * is the model's, not the JPEG decoder's. Progress lines ({@code soak-predict: <done> <seconds>})
 * let the sampler outside the process put each RSS sample against the number of predictions.
 */
public final class SoakPredict {

    private SoakPredict() {}

    /** Runs n predictions in batches of {@code batch}; returns the predictions done per second. */
    public static double run(Classifier classifier, ImageCache cache, long n, int batch, PrintStream progress) {
        List<BatchLoader.Sample> samples = new ArrayList<>();
        for (int i = 0; i < cache.count(); i++) {
            if (cache.pixels(i) != null) {
                samples.add(new BatchLoader.Sample(i, 0));
            }
        }
        if (samples.isEmpty()) {
            throw new IllegalArgumentException("no decodable images in the cache");
        }
        int size = classifier.metadata().imageSize();
        if (cache.size() != size) {
            throw new IllegalArgumentException("cache is at " + cache.size() + " px, the model at " + size);
        }
        Augmenter plain = new Augmenter(Augmentation.none(), classifier.metadata().inputNormalization(), size);
        long done = 0;
        long lastPrinted = 0;
        long t0 = System.nanoTime();
        try (BatchLoader loader = new BatchLoader(cache, samples, plain, false, batch)) {
            for (int pass = 0; done < n; pass++) {
                for (Iterator<Batch> it = loader.epoch(0, pass, false); it.hasNext() && done < n; ) {
                    Batch b = it.next();
                    int take = (int) Math.min(b.size(), n - done);
                    classifier.probabilities(b.images(), take, b.imageSize());
                    done += take;
                    // About every 20 batches: often enough for a sample every few seconds to
                    // find a fresh count, rarely enough to cost nothing.
                    if (done - lastPrinted >= 20L * batch || done == n) {
                        progress.printf(Locale.ROOT, "soak-predict: %d %.1f%n", done, (System.nanoTime() - t0) / 1e9);
                        progress.flush();
                        lastPrinted = done;
                    }
                }
            }
        }
        return done / ((System.nanoTime() - t0) / 1e9);
    }
}
