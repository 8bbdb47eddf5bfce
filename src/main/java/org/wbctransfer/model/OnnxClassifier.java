package org.wbctransfer.model;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import org.wbctransfer.util.UserException;

/**
 * A classifier's {@code model.onnx} (from {@link OnnxExport}) on ONNX Runtime's CPU engine: one
 * session, created once and used by every call (thread-safe: the serve pool calls it from several
 * threads), all graph optimisations on, intra-op threads as for libtorch ({@link #threads()}).
 * Probabilities are computed as {@link Classifier} computes them: the logits divided by the
 * temperature, then the softmax, and with {@code dihedral} averaged over the eight flips and
 * right-angle rotations; its inputs are the same normalized NCHW floats.
 */
public final class OnnxClassifier implements AutoCloseable {

    private final OrtEnvironment env;
    private final OrtSession session;
    private final OrtSession.SessionOptions options;
    private final String input;
    private final int threads;

    private OnnxClassifier(OrtEnvironment env, OrtSession.SessionOptions options, OrtSession session, int threads) {
        this.env = env;
        this.options = options;
        this.session = session;
        this.input = session.getInputNames().iterator().next();
        this.threads = threads;
    }

    /** A session on a graph file with {@link #threads()} intra-op threads. */
    public static OnnxClassifier open(Path file) {
        return open(file, null, threads());
    }

    /** A session on a serialized graph (the bench's graphs at other sizes). */
    public static OnnxClassifier open(byte[] graph, int threads) {
        return open(null, graph, threads);
    }

    private static OnnxClassifier open(Path file, byte[] graph, int threads) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        try {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            o.setIntraOpNumThreads(threads);
            o.setInterOpNumThreads(1);
            OrtSession s = file != null ? env.createSession(file.toString(), o) : env.createSession(graph, o);
            return new OnnxClassifier(env, o, s, threads);
        } catch (OrtException e) {
            o.close();
            throw new UserException((file != null ? file + ": " : "") + "ONNX Runtime cannot load the graph ("
                    + e.getMessage() + ")", e);
        }
    }

    /**
     * Intra-op threads: those libtorch is given ({@code -Dai.djl.pytorch.num_threads}, which
     * {@code bin/wbc} sets from {@code WBC_THREADS}), else {@code WBC_THREADS}, else every core.
     */
    public static int threads() {
        for (String t : new String[] {System.getProperty("ai.djl.pytorch.num_threads"), System.getenv("WBC_THREADS")}) {
            if (t != null) {
                try {
                    int n = Integer.parseInt(t.trim());
                    if (n > 0) {
                        return n;
                    }
                } catch (NumberFormatException e) {
                    // fall through to the next source
                }
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }

    public int intraOpThreads() {
        return threads;
    }

    /** Logits (n x classes) of n normalized NCHW images of size x size pixels. */
    public float[][] logits(float[] images, int n, int size) {
        return run(images, n, size).logits();
    }

    /** What one run of the graph gives: logits, and every stage's pooled features (null from graphs without that output). */
    public record Outputs(float[][] logits, float[][] stages) {}

    public Outputs run(float[] images, int n, int size) {
        float[][][] out = outputs(images, n, 3, size, size);
        return new Outputs(out[0], out.length > 1 ? out[1] : null);
    }

    /** Every output of the graph as rows (n x its second dimension) for an input of this shape, n first. */
    float[][][] outputs(float[] values, long... shape) {
        int n = (int) shape[0];
        return run(values, shape, r -> {
            float[][][] out = new float[r.size()][][];
            for (int i = 0; i < out.length; i++) {
                out[i] = rows((OnnxTensor) r.get(i), n);
            }
            return out;
        });
    }

    /** The graph's first output, an int64 tensor (the segmenter's per-pixel classes), flat, for an input of this shape. */
    long[] longs(float[] values, long... shape) {
        return run(values, shape, r -> {
            java.nio.LongBuffer flat = ((OnnxTensor) r.get(0)).getLongBuffer();
            long[] out = new long[flat.remaining()];
            flat.get(out);
            return out;
        });
    }

    /** What a reader takes from one run of the graph, while its results are still open. */
    private interface Reading<T> {
        T read(OrtSession.Result result) throws OrtException;
    }

    /** Runs the graph on the first product-of-shape values and reads its results before they are closed. */
    private <T> T run(float[] values, long[] shape, Reading<T> reading) {
        FloatBuffer in = FloatBuffer.wrap(values, 0, (int) java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b));
        try (OnnxTensor x = OnnxTensor.createTensor(env, in, shape); OrtSession.Result r = session.run(Map.of(input, x))) {
            return reading.read(r);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    private static float[][] rows(OnnxTensor out, int n) {
        int k = (int) out.getInfo().getShape()[1];
        FloatBuffer flat = out.getFloatBuffer();
        float[][] rows = new float[n][k];
        for (int i = 0; i < n; i++) {
            flat.get(rows[i]);
        }
        return rows;
    }

    /**
     * Softmax of the logits divided by {@code temperature}; with {@code dihedral} the mean over the
     * eight views, as {@link Classifier#probabilities(float[], int, int, boolean)}.
     */
    public float[][] probabilities(float[] images, int n, int size, boolean dihedral, double temperature) {
        float t = (float) temperature;
        float[][] p = softmax(logits(images, n, size), t);
        if (dihedral) {
            for (int view = 1; view < 8; view++) {
                float[][] q = softmax(logits(view(images, n, size, view >= 4, view % 4), n, size), t);
                for (int i = 0; i < n; i++) {
                    for (int c = 0; c < p[i].length; c++) {
                        p[i][c] += q[i][c];
                    }
                }
            }
            for (float[] row : p) {
                for (int c = 0; c < row.length; c++) {
                    row[c] /= 8f;
                }
            }
        }
        return p;
    }

    /** Softmax of logits / t per row, in place (float, as the torch side computes it). */
    static float[][] softmax(float[][] logits, float t) {
        for (float[] row : logits) {
            if (t != 1f) {
                for (int c = 0; c < row.length; c++) {
                    row[c] /= t;
                }
            }
            float max = Float.NEGATIVE_INFINITY;
            for (float v : row) {
                max = Math.max(max, v);
            }
            float sum = 0;
            for (int c = 0; c < row.length; c++) {
                row[c] = (float) Math.exp(row[c] - max);
                sum += row[c];
            }
            for (int c = 0; c < row.length; c++) {
                row[c] /= sum;
            }
        }
        return logits;
    }

    /**
     * One of the eight dihedral views of each image: flipped left-right when {@code flip}, then
     * turned {@code quarterTurns} times by 90 degrees (the set of eight is that of the torch side;
     * their mean does not depend on the order).
     */
    static float[] view(float[] images, int n, int size, boolean flip, int quarterTurns) {
        int plane = size * size;
        float[] out = new float[n * 3 * plane];
        for (int p = 0; p < n * 3; p++) {
            int base = p * plane;
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    // (y, x) of the view reads (ty, tx) of the flipped image
                    int ty;
                    int tx;
                    switch (quarterTurns) {
                        case 1 -> {
                            ty = x;
                            tx = size - 1 - y;
                        }
                        case 2 -> {
                            ty = size - 1 - y;
                            tx = size - 1 - x;
                        }
                        case 3 -> {
                            ty = size - 1 - x;
                            tx = y;
                        }
                        default -> {
                            ty = y;
                            tx = x;
                        }
                    }
                    int fx = flip ? size - 1 - tx : tx;
                    out[base + y * size + x] = images[base + ty * size + fx];
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        } finally {
            options.close();
        }
    }
}
