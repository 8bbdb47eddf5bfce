package org.wbctransfer.pretrain;

import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.Batch;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.ImageCache;

/**
 * Batches of two independently augmented views of the same images, for siamese self-supervision.
 * Like {@link BatchLoader} the next batch is augmented on a background thread, and every random
 * draw is seeded: the order by (seed, epoch), view v of sample i by (seed, 2 * epoch + v, i), so
 * the two views differ and a rerun sees exactly the same pairs.
 */
final class TwoViewBatches implements AutoCloseable {

    /** The same images, in the same order, under two augmentations. */
    record Pair(Batch first, Batch second) {
        int size() {
            return first.size();
        }
    }

    private final ImageCache cache;
    private final List<BatchLoader.Sample> samples;
    private final Augmenter augmenter;
    private final int batchSize;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "two-view-prefetch");
        t.setDaemon(true);
        return t;
    });

    TwoViewBatches(ImageCache cache, List<BatchLoader.Sample> samples, Augmenter augmenter, int batchSize) {
        this.cache = cache;
        this.samples = List.copyOf(samples);
        this.augmenter = augmenter;
        this.batchSize = batchSize;
    }

    /** Batches per epoch; a last batch of one image is dropped since BatchNorm needs two. */
    int batchesPerEpoch() {
        int rest = samples.size() % batchSize;
        return samples.size() / batchSize + (rest > 1 ? 1 : 0);
    }

    Iterator<Pair> epoch(long seed, int epoch) {
        List<int[]> plan = BatchLoader.plan(samples.size(), batchSize, batchesPerEpoch(), seed, epoch, true);
        return BatchLoader.prefetch(worker, plan, idx -> make(idx, seed, epoch));
    }

    Pair make(int[] idx, long seed, int epoch) {
        return new Pair(view(idx, seed, epoch, 0), view(idx, seed, epoch, 1));
    }

    private Batch view(int[] idx, long seed, int epoch, int v) {
        int s = cache.size();
        int per = 3 * s * s;
        float[] data = new float[idx.length * per];
        int[] labels = new int[idx.length];
        for (int k = 0; k < idx.length; k++) {
            BatchLoader.Sample smp = samples.get(idx[k]);
            augmenter.augment(cache.pixels(smp.cacheIndex()), Augmenter.sampleSeed(seed, 2 * epoch + v, idx[k]), data,
                    k * per);
            labels[k] = smp.label();
        }
        return new Batch(data, labels, idx.clone(), idx.length, s);
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
