package org.wbctransfer.pretrain;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
        int n = samples.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Random rng = new Random(Augmenter.sampleSeed(seed, epoch, -1));
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        int nb = batchesPerEpoch();
        List<int[]> plan = new ArrayList<>(nb);
        for (int b = 0; b < nb; b++) {
            int from = b * batchSize;
            int[] idx = new int[Math.min(n, from + batchSize) - from];
            System.arraycopy(order, from, idx, 0, idx.length);
            plan.add(idx);
        }
        return new Iterator<>() {
            int next = 0;
            Future<Pair> pending = nb > 0 ? worker.submit(() -> make(plan.get(0), seed, epoch)) : null;

            @Override
            public boolean hasNext() {
                return next < nb;
            }

            @Override
            public Pair next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                Pair p;
                try {
                    p = pending.get();
                } catch (Exception e) {
                    throw new IllegalStateException("preparing a batch failed: " + e.getMessage(), e);
                }
                next++;
                if (next < nb) {
                    int[] idx = plan.get(next);
                    pending = worker.submit(() -> make(idx, seed, epoch));
                }
                return p;
            }
        };
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
