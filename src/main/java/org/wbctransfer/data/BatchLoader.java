package org.wbctransfer.data;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * Turns cached images into batches, augmenting on a background thread one batch ahead of the
 * consumer so that the model rarely waits for data.
 */
public final class BatchLoader implements AutoCloseable {

    /** A labelled image in the cache. */
    public record Sample(int cacheIndex, int label) {}

    /** The same images, in the same order, under two augmentations. */
    public record Pair(Batch first, Batch second) {
        public int size() {
            return first.size();
        }
    }

    private final ImageCache cache;
    private final List<Sample> samples;
    private final Augmenter augmenter;
    private final boolean augment;
    private final int batchSize;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "batch-prefetch");
        t.setDaemon(true);
        return t;
    });

    public BatchLoader(ImageCache cache, List<Sample> samples, Augmenter augmenter, boolean augment, int batchSize) {
        this.cache = cache;
        this.samples = List.copyOf(samples);
        this.augmenter = augmenter;
        this.augment = augment;
        this.batchSize = batchSize;
    }

    public int size() {
        return samples.size();
    }

    public List<Sample> samples() {
        return samples;
    }

    /** Number of batches per epoch; a last batch of one image is dropped since BatchNorm needs two. */
    public int batchesPerEpoch(boolean shuffle) {
        int full = samples.size() / batchSize;
        int rest = samples.size() % batchSize;
        return full + (rest > (shuffle ? 1 : 0) ? 1 : 0);
    }

    /**
     * Batches of one epoch. With shuffle, the order comes from (seed, epoch) and each sample's
     * augmentation from (seed, epoch, sample position in the list).
     */
    public Iterator<Batch> epoch(long seed, int epoch, boolean shuffle) {
        List<int[]> plan = plan(samples.size(), batchSize, batchesPerEpoch(shuffle), seed, epoch, shuffle);
        return prefetch(worker, plan, idx -> make(idx, seed, epoch));
    }

    /**
     * Batches of two independently augmented views of the same images, for siamese
     * self-supervision: shuffled as {@link #epoch}, view v of a sample augmented from (seed,
     * 2 * epoch + v, its position), so the two views differ and a rerun sees exactly the same pairs.
     */
    public Iterator<Pair> twoViewEpoch(long seed, int epoch) {
        List<int[]> plan = plan(samples.size(), batchSize, batchesPerEpoch(true), seed, epoch, true);
        return prefetch(worker, plan, idx -> new Pair(make(idx, seed, 2 * epoch), make(idx, seed, 2 * epoch + 1)));
    }

    /**
     * Sample positions of each batch of one epoch: the identity order, or a shuffle seeded by
     * (seed, epoch), cut into {@code batches} consecutive batches.
     */
    private static List<int[]> plan(int n, int batchSize, int batches, long seed, int epoch, boolean shuffle) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        if (shuffle) {
            Random rng = new Random(Augmenter.sampleSeed(seed, epoch, -1));
            for (int i = n - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        List<int[]> plan = new ArrayList<>(batches);
        for (int b = 0; b < batches; b++) {
            int from = b * batchSize;
            int to = Math.min(n, from + batchSize);
            int[] idx = new int[to - from];
            System.arraycopy(order, from, idx, 0, idx.length);
            plan.add(idx);
        }
        return plan;
    }

    /** Builds the batches of a plan on {@code worker}, always one batch ahead of the consumer. */
    private static <T> Iterator<T> prefetch(ExecutorService worker, List<int[]> plan, Function<int[], T> make) {
        int nb = plan.size();
        return new Iterator<>() {
            int next = 0;
            Future<T> pending = nb > 0 ? worker.submit(() -> make.apply(plan.get(0))) : null;

            @Override
            public boolean hasNext() {
                return next < nb;
            }

            @Override
            public T next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                T b;
                try {
                    b = pending.get();
                } catch (Exception e) {
                    throw new IllegalStateException("preparing a batch failed: " + e.getMessage(), e);
                }
                next++;
                if (next < nb) {
                    int[] idx = plan.get(next);
                    pending = worker.submit(() -> make.apply(idx));
                }
                return b;
            }
        };
    }

    Batch make(int[] idx, long seed, int epoch) {
        int s = cache.size();
        int per = 3 * s * s;
        float[] data = new float[idx.length * per];
        int[] labels = new int[idx.length];
        int[] pos = new int[idx.length];
        for (int k = 0; k < idx.length; k++) {
            Sample smp = samples.get(idx[k]);
            byte[] px = cache.pixels(smp.cacheIndex());
            if (augment) {
                augmenter.augment(px, Augmenter.sampleSeed(seed, epoch, idx[k]), data, k * per);
            } else {
                augmenter.plain(px, data, k * per);
            }
            labels[k] = smp.label();
            pos[k] = idx[k];
        }
        return new Batch(data, labels, pos, idx.length, s);
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
