package org.wbctransfer.model;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.SequentialBlock;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import org.wbctransfer.data.Batch;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;

/**
 * A trained WBC classifier: a ResNet-18 and the metadata needed to use it. Immutable once built;
 * a model directory holds {@code weights.params} and {@code metadata.json}.
 */
public final class Classifier implements AutoCloseable {

    public static final String WEIGHTS = "weights.params";
    public static final String METADATA = "metadata.json";

    private final Model model;
    private final SequentialBlock block;
    private final ModelMetadata metadata;
    /** Whether inference runs channels-last (see {@link #useChannelsLast}). */
    private boolean channelsLast;
    /** The network inference runs: block with BatchNorm folded in, built on first use. */
    private FoldedResNet inference;
    /** When set ({@link #useOnnx}), probabilities come from the bundle's model.onnx on ONNX Runtime. */
    private volatile OnnxClassifier onnx;

    private Classifier(Model model, SequentialBlock block, ModelMetadata metadata) {
        this(model, block, metadata, null);
    }

    private Classifier(Model model, SequentialBlock block, ModelMetadata metadata, OnnxClassifier onnx) {
        this.model = model;
        this.block = block;
        this.metadata = metadata;
        this.onnx = onnx;
    }

    /**
     * Computes {@link #probabilities} (and so {@link #predict}) with ONNX Runtime on {@code graph},
     * the model.onnx {@link OnnxExport} wrote from these weights, instead of libtorch. Same inputs,
     * same temperature and softmax; the probabilities agree to about 1e-6. Features, Grad-CAM and
     * the two adaptations stay on the weights (the adaptations refuse while ONNX is in use: the graph
     * would no longer match).
     */
    public synchronized Classifier useOnnx(Path graph) {
        OnnxClassifier previous = onnx;
        onnx = OnnxClassifier.open(graph);
        if (previous != null) {
            previous.close();
        }
        return this;
    }

    /** Which engine computes the probabilities: {@code "onnx"} or {@code "torch"}. */
    public String engine() {
        return onnx == null ? "torch" : "onnx";
    }

    /** The folded network's weights as plain arrays (for {@link OnnxExport}). */
    public synchronized FoldedResNet.Weights foldedWeights() {
        try (FoldedResNet f = FoldedResNet.of(block, model.getNDManager(), false)) {
            return f.weights();
        }
    }

    /**
     * Runs {@link #probabilities} (and so {@link #predict}) on channels-last weights with
     * channels-last input: the same results (to float rounding), with fewer memory reorders in
     * oneDNN's convolutions.
     */
    public synchronized Classifier useChannelsLast() {
        if (!channelsLast) {
            channelsLast = true;
            if (inference != null) {
                inference.close();
                inference = null;
            }
        }
        return this;
    }

    /**
     * The inference network: the weights with BatchNorm folded into the convolutions (see {@link
     * FoldedResNet}), about 15 % faster than running the BatchNorm layers; one more copy of the
     * weights (about 45 MB). Thread-safe: the serve pool calls it from several threads.
     */
    private synchronized FoldedResNet inference() {
        if (inference == null) {
            inference = FoldedResNet.of(block, model.getNDManager(), channelsLast);
        }
        return inference;
    }

    /** Wraps a block trained in this process; the classifier takes ownership of the model. */
    public static Classifier of(Model model, SequentialBlock block, ModelMetadata metadata) {
        return new Classifier(model, block, metadata);
    }

    public static Classifier load(Path dir) {
        Path meta = dir.resolve(METADATA);
        Path weights = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(meta)) {
            throw new UserException(dir + ": not a model directory (no " + METADATA + ")");
        }
        ModelMetadata md = Json.read(meta, ModelMetadata.class);
        if (!Files.isRegularFile(weights)) {
            throw new UserException(dir + ": model directory has no " + WEIGHTS);
        }
        SequentialBlock block = ResNet18.classifier(md.classes().size());
        Model model = Model.newInstance("wbc-resnet18", Devices.compute());
        model.setBlock(block);
        block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, md.imageSize(), md.imageSize()));
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(weights)))) {
            block.loadParameters(model.getNDManager(), in);
        } catch (IOException | MalformedModelException e) {
            model.close();
            throw new UserException(weights + ": cannot load weights (" + e.getMessage() + ")", e);
        }
        return new Classifier(model, block, md);
    }

    /** Writes weights.params and metadata.json (without an {@code onnx} entry: only export writes the graph). */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        AtomicFiles.write(dir.resolve(WEIGHTS), tmp -> {
            try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20))) {
                block.saveParameters(out);
            }
        });
        Json.write(dir.resolve(METADATA), metadata.withOnnx(null));
    }

    public ModelMetadata metadata() {
        return metadata;
    }

    public SequentialBlock block() {
        return block;
    }

    /** The device the weights live on (inputs must be created there). */
    public ai.djl.Device device() {
        return model.getNDManager().getDevice();
    }

    /**
     * Class probabilities for every sample of the loader, in the loader's sample order; with
     * {@code dihedral} the softmax is averaged over the eight
     * flips and right-angle rotations of each image. Cells have no up or left, and training already
     * augments with exactly these views, so averaging them removes orientation noise at 8x the cost.
     */
    public float[][] predict(BatchLoader loader, boolean dihedral) {
        float[][] out = new float[loader.size()][];
        Iterator<Batch> it = loader.epoch(0, 0, false);
        while (it.hasNext()) {
            Batch b = it.next();
            float[][] p = probabilities(b.images(), b.size(), b.imageSize(), dihedral);
            for (int k = 0; k < b.size(); k++) {
                out[b.samples()[k]] = p[k];
            }
        }
        return out;
    }

    /** Batches that {@link #adaptBatchNorm} averages over, so the source statistics' weight falls below 0.9^60. */
    private static final int ADAPT_BATCHES = 60;
    /** Images per adaptation batch. */
    private static final int ADAPT_BATCH = 32;
    /** Most target images adaptation reads: the statistics of 5 channels' means settle long before. */
    public static final int ADAPT_MAX_IMAGES = 2048;

    /**
     * Test-time BatchNorm adaptation (AdaBN, Li et al. 2016): re-estimates every BatchNorm layer's
     * running mean and variance on the target images (no labels), so a new microscope's colour and
     * scale statistics replace the training data's. Runs the network in training mode, which
     * updates the running statistics by an exponential average (weight 0.1 per batch in DJL's
     * PyTorch engine), over seeded shuffles of the images until {@value #ADAPT_BATCHES} batches of
     * {@value #ADAPT_BATCH} have been seen. The weights are changed in place: this classifier then
     * predicts for the target domain.
     *
     * @param images normalized CHW images at the model's size (at most {@link #ADAPT_MAX_IMAGES}; at least 16)
     * @return the number of batches averaged
     */
    public synchronized int adaptBatchNorm(List<float[]> images) {
        requireTorch("BatchNorm adaptation");
        if (images.size() < 16) {
            throw new UserException("--adapt-bn needs at least 16 readable images of the target domain, got " + images.size());
        }
        if (images.size() > ADAPT_MAX_IMAGES) {
            throw new IllegalArgumentException("at most " + ADAPT_MAX_IMAGES + " images, got " + images.size());
        }
        int size = metadata.imageSize();
        int per = 3 * size * size;
        int batch = Math.min(ADAPT_BATCH, images.size());
        java.util.Random rng = new java.util.Random(0x5eed);
        List<Integer> order = new java.util.ArrayList<>();
        ai.djl.training.ParameterStore ps = new ai.djl.training.ParameterStore(model.getNDManager(), false);
        float[] buf = new float[batch * per];
        for (int b = 0; b < ADAPT_BATCHES; b++) {
            for (int k = 0; k < batch; k++) {
                if (order.isEmpty()) {
                    for (int i = 0; i < images.size(); i++) {
                        order.add(i);
                    }
                    java.util.Collections.shuffle(order, rng);
                }
                System.arraycopy(images.get(order.remove(order.size() - 1)), 0, buf, k * per, per);
            }
            try (NDManager sub = model.getNDManager().newSubManager()) {
                NDArray x = sub.create(FloatBuffer.wrap(buf), new Shape(batch, 3, size, size));
                block.forward(ps, new ai.djl.ndarray.NDList(x), true);
            }
        }
        if (inference != null) {
            inference.close();
            inference = null; // refolded from the new statistics on next use
        }
        return ADAPT_BATCHES;
    }

    /** At most {@link #ADAPT_MAX_IMAGES} of n items, evenly spaced, in order: the ones adaptation reads. */
    public static List<Integer> adaptationSample(int n) {
        List<Integer> out = new java.util.ArrayList<>();
        int k = Math.min(n, ADAPT_MAX_IMAGES);
        for (int i = 0; i < k; i++) {
            out.add((int) ((long) i * n / k));
        }
        return out;
    }

    /** The pooled features (n x 512) of n normalized NCHW images, as the head reads them. */
    public float[][] features(float[] images, int n, int size) {
        try (NDManager sub = model.getNDManager().newSubManager()) {
            NDArray x = sub.create(FloatBuffer.wrap(images, 0, n * 3 * size * size), new Shape(n, 3, size, size));
            NDArray f = inference().features(x);
            int d = (int) f.getShape().get(1);
            float[] flat = f.toFloatArray();
            float[][] out = new float[n][d];
            for (int i = 0; i < n; i++) {
                System.arraycopy(flat, i * d, out[i], 0, d);
            }
            return out;
        }
    }

    /** The head's weight (classes x features, row-major) and bias. */
    public synchronized float[][] head() {
        List<ai.djl.nn.Parameter> p = ResNet18.headOf(block).getParameters().values();
        return new float[][] {p.get(0).getArray().toFloatArray(), p.get(1).getArray().toFloatArray()};
    }

    /** Replaces the head's weight (classes x features, row-major) and bias in place. */
    public synchronized void setHead(float[] weight, float[] bias) {
        requireTorch("replacing the head");
        List<ai.djl.nn.Parameter> p = ResNet18.headOf(block).getParameters().values();
        p.get(0).getArray().set(FloatBuffer.wrap(weight));
        p.get(1).getArray().set(FloatBuffer.wrap(bias));
        if (inference != null) {
            inference.close();
            inference = null;
        }
    }

    private void requireTorch(String what) {
        if (onnx != null) {
            throw new IllegalStateException(what + " changes the weights, which the ONNX graph in use would not follow");
        }
    }

    /** A classifier with other metadata and the same network (and engine); this one must not be used afterwards. */
    public Classifier withMetadata(ModelMetadata md) {
        return new Classifier(model, block, md, onnx);
    }

    /** Softmax outputs for n normalized images laid out as NCHW floats. */
    public float[][] probabilities(float[] images, int n, int size) {
        return probabilities(images, n, size, false);
    }

    public float[][] probabilities(float[] images, int n, int size, boolean dihedral) {
        OnnxClassifier o = onnx;
        if (o != null) {
            return o.probabilities(images, n, size, dihedral, metadata.softmaxTemperature());
        }
        int k = metadata.classes().size();
        try (NDManager sub = model.getNDManager().newSubManager()) {
            NDArray x = sub.create(FloatBuffer.wrap(images, 0, n * 3 * size * size), new Shape(n, 3, size, size));
            FoldedResNet net = inference();
            float t = (float) metadata.softmaxTemperature();
            NDArray probs = scaled(net.forward(x), t).softmax(1);
            if (dihedral) {
                for (int view = 1; view < 8; view++) {
                    NDArray v = view >= 4 ? x.flip(3) : x;
                    probs = probs.add(scaled(net.forward(v.rotate90(view % 4, new int[] {2, 3})), t).softmax(1));
                }
                probs = probs.div(8f);
            }
            float[] flat = probs.toFloatArray();
            float[][] p = new float[n][k];
            for (int i = 0; i < n; i++) {
                System.arraycopy(flat, i * k, p[i], 0, k);
            }
            return p;
        }
    }

    /** Logits divided by the temperature; untouched at 1, so uncalibrated models compute exactly as before. */
    private static NDArray scaled(NDArray logits, float t) {
        return t == 1f ? logits : logits.div(t);
    }

    /** Index of the largest score; the first one on ties, so predictions are reproducible. */
    public static int argMax(float[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) {
            if (p[i] > p[best]) {
                best = i;
            }
        }
        return best;
    }

    @Override
    public void close() {
        OnnxClassifier o = onnx;
        onnx = null;
        try {
            if (o != null) {
                o.close();
            }
        } finally {
            model.close();
        }
    }
}
