package org.wbctransfer.spark;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.LongAccumulator;
import org.wbctransfer.data.ImageDecoder;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelInput;

/**
 * What each executor does with a partition of images: decode, preprocess and classify them with
 * exactly the code {@code wbc predict} uses ({@link ImageDecoder#read(byte[], int)}, {@link
 * ModelInput#normalize}, {@link Classifier#scored}), {@code batch} images per forward pass, the
 * model from this JVM's {@link ModelCache}. Rows come out lazily, a batch at a time, in input order:
 * {@link PredictionRows#schema} (an unreadable image gets its problem in {@code error}, the job goes on).
 * Input rows: {@code path} and {@code content} (the binaryFile source), or {@code path} alone
 * ({@code readBytes}: a table of paths; the bytes are read here through Hadoop's FileSystem, relative
 * paths against the driver's working directory {@code base}).
 */
final class ClassifyPartition implements FlatMapFunction<Iterator<Row>, Row> {

    private static final long serialVersionUID = 1L;

    /**
     * Test hook: when set, the first attempt of partition 0 fails after its first batch, so a test
     * can check that the retried task's output replaces it (every row exactly once).
     */
    static volatile boolean failFirstAttemptAfterOneBatch;
    private static final java.util.concurrent.atomic.AtomicInteger HOOK_FAILURES = new java.util.concurrent.atomic.AtomicInteger();

    /** How often the test hook has failed a task in this JVM. */
    static int hookFailures() {
        return HOOK_FAILURES.get();
    }

    private final BundleRef bundle;
    private final int batch;
    private final boolean readBytes;
    private final String base;
    private final LongAccumulator images;
    private final LongAccumulator errors;
    private final LongAccumulator flagged;

    ClassifyPartition(BundleRef bundle, int batch, boolean readBytes, String base, LongAccumulator images,
            LongAccumulator errors, LongAccumulator flagged) {
        this.bundle = bundle;
        this.batch = batch;
        this.readBytes = readBytes;
        this.base = base;
        this.images = images;
        this.errors = errors;
        this.flagged = flagged;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        Classifier c = ModelCache.get(bundle);
        ModelInput input = c.input();
        Configuration conf = readBytes ? new Configuration() : null;
        TaskContext task = TaskContext.get();
        return new Iterator<>() {
            private final ArrayDeque<Row> ready = new ArrayDeque<>();
            private final float[] buf = new float[batch * input.floats()];
            private int batches;

            @Override
            public boolean hasNext() {
                while (ready.isEmpty() && rows.hasNext()) {
                    classify(batch());
                }
                return !ready.isEmpty();
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return ready.poll();
            }

            private List<Row> batch() {
                if (batches == 1 && failFirstAttemptAfterOneBatch && task != null && task.attemptNumber() == 0
                        && task.partitionId() == 0) {
                    HOOK_FAILURES.incrementAndGet();
                    throw new IllegalStateException("test hook: first attempt of partition 0 fails after one batch");
                }
                List<Row> in = new ArrayList<>(batch);
                while (in.size() < batch && rows.hasNext()) {
                    in.add(rows.next());
                }
                batches++;
                return in;
            }

            private void classify(List<Row> in) {
                String[] problems = new String[in.size()];
                int[] slot = new int[in.size()];
                List<java.awt.image.BufferedImage> decoded = new ArrayList<>(in.size());
                for (int i = 0; i < in.size(); i++) {
                    try {
                        byte[] bytes = readBytes ? read(in.get(i).getString(0), conf) : in.get(i).getAs(1);
                        decoded.add(ImageDecoder.read(bytes == null ? new byte[0] : bytes, input.size()));
                        slot[i] = decoded.size() - 1;
                    } catch (ImageDecoder.BadImageException | IOException | RuntimeException e) {
                        // One bad file is a row with its problem, never a failed task.
                        problems[i] = e.getMessage() == null ? e.toString() : e.getMessage();
                        slot[i] = -1;
                    }
                }
                // Framed together: a cell-crop model's segmenter runs once over the batch.
                List<java.awt.image.BufferedImage> framed = input.frameAll(decoded);
                int n = framed.size();
                for (int k = 0; k < n; k++) {
                    input.normalizeFramed(framed.get(k), buf, k * input.floats());
                }
                Classifier.Scored s = n == 0 ? null : c.scored(buf, n, input.size(), false);
                double[] ood = s == null ? null : c.oodScore(s);
                for (int i = 0; i < in.size(); i++) {
                    String path = in.get(i).getString(0);
                    if (slot[i] < 0) {
                        ready.add(PredictionRows.error(c.metadata(), path, problems[i]));
                        errors.add(1);
                        continue;
                    }
                    double score = ood == null ? Double.NaN : ood[slot[i]];
                    boolean out = ood != null && c.outOfDistribution(score);
                    ready.add(PredictionRows.row(c.metadata(), path, s.probabilities()[slot[i]], score, out));
                    images.add(1);
                    flagged.add(out ? 1 : 0);
                }
            }
        };
    }

    /** The bytes of a file named in a table, through Hadoop's FileSystem (local, HDFS, S3...). */
    private byte[] read(String name, Configuration conf) throws IOException {
        if (name == null || name.isBlank()) {
            throw new IOException("empty path");
        }
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(name);
        if (!p.isAbsolute() && p.toUri().getScheme() == null) {
            p = new org.apache.hadoop.fs.Path(base, p);
        }
        FileSystem fs = p.getFileSystem(conf);
        long len = fs.getFileStatus(p).getLen();
        if (len > Integer.MAX_VALUE - 8) {
            throw new IOException("file too large (" + len + " bytes)");
        }
        try (InputStream in = fs.open(p)) {
            return in.readAllBytes();
        }
    }
}
