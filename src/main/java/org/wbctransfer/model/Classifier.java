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
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.ColourStandard;
import org.wbctransfer.data.Framing;
import org.wbctransfer.data.Batch;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Hashing;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;

/**
 * A trained WBC classifier: a ResNet-18 and the metadata needed to use it. Immutable once built;
 * a model directory holds {@code weights.params} and {@code metadata.json}.
 */
public final class Classifier implements AutoCloseable {

    public static final String WEIGHTS = "weights.params";
    public static final String METADATA = "metadata.json";

    /** The network, shared with the copies {@link #withMetadata} and {@link #withDetector} make. */
    private final Network network;
    /** Replaced only by {@link #save}, which records the checksum of the weights it wrote. */
    private volatile ModelMetadata metadata;
    /** What the Mahalanobis out-of-distribution score needs besides the network; null when not fitted. */
    private final OodDetector detector;
    /** {@link OodDetector#toArrays} of the detector, made on first use. */
    private NDArray[] detectorArrays;
    /** Whether inference runs channels-last (see {@link #useChannelsLast}). */
    private boolean channelsLast;
    /** The network inference runs: block with BatchNorm folded in, built on first use; unused with GroupNorm. */
    private FoldedResNet inference;
    /** When set ({@link #useOnnx}), probabilities come from the bundle's model.onnx on ONNX Runtime. */
    private volatile OnnxClassifier onnx;

    private Classifier(Network network, ModelMetadata metadata, OodDetector detector, OnnxClassifier onnx) {
        this.network = network;
        this.metadata = metadata;
        this.detector = detector;
        this.onnx = onnx;
    }

    /**
     * The DJL model and block, read from weights.params on first use, so that the ONNX engine never
     * starts libtorch; and the ONNX Runtime sessions of the detectors' distance graphs. Closed with
     * the classifier that loaded it.
     */
    private static final class Network {
        private final Path weights;
        /** The checksum {@link Classifier#load} checked: the weights read later must be those. */
        private final String sha256;
        private final Path meta;
        private final ModelMetadata md;
        private Model model;
        private SequentialBlock block;
        private final Map<OodDetector, OnnxClassifier> detectorGraphs = new IdentityHashMap<>();
        /** The segmentation network that frames the input on the cell, or null (the centre square). */
        private final CellCrop cellCrop;
        /** The crop, then the colour standardisation, of those the model was trained with; null: neither. */
        private final Framing framing;

        private Network(Path weights, String sha256, Path meta, ModelMetadata md, Model model, SequentialBlock block,
                CellCrop cellCrop) {
            this.cellCrop = cellCrop;
            this.framing = Framing.chain(cellCrop, md.colourStandard() == null ? null : ColourStandard.INSTANCE);
            this.weights = weights;
            this.sha256 = sha256;
            this.meta = meta;
            this.md = md;
            this.model = model;
            this.block = block;
        }

        synchronized Model model() {
            load();
            return model;
        }

        synchronized SequentialBlock block() {
            load();
            return block;
        }

        private void load() {
            if (model != null) {
                return;
            }
            SequentialBlock b = ResNet18.classifier(md.classes().size(), md.norm());
            Model m = Model.newInstance("wbc-resnet18", Devices.compute());
            try {
                m.setBlock(b);
                b.initialize(m.getNDManager(), DataType.FLOAT32, new Shape(1, 3, md.imageSize(), md.imageSize()));
                java.security.MessageDigest digest = Hashing.sha256();
                try (DataInputStream in = new DataInputStream(new BufferedInputStream(
                        new java.security.DigestInputStream(Files.newInputStream(weights), digest), 1 << 20))) {
                    b.loadParameters(m.getNDManager(), in);
                    in.transferTo(java.io.OutputStream.nullOutputStream());
                } catch (IOException | MalformedModelException | RuntimeException e) {
                    throw new UserException(weights + ": cannot load weights (" + UserException.firstLine(String.valueOf(e.getMessage())) + ")", e);
                }
                if (!sha256.equals(java.util.HexFormat.of().formatHex(digest.digest()))) {
                    throw new UserException(weights + ": changed since the model was loaded; load it again");
                }
                checkClasses(meta, md, WEIGHTS, ResNet18.headOf(b).getParameters().get(0).getValue().getArray().getShape().get(0));
            } catch (RuntimeException e) {
                m.close();
                throw e;
            }
            model = m;
            block = b;
        }

        /** The session of the detector's distance graph ({@link OodDetector#graph}), opened on first use. */
        synchronized OnnxClassifier detectorGraph(OodDetector d, int threads) {
            return detectorGraphs.computeIfAbsent(d, k -> OnnxClassifier.open(k.graph(), threads));
        }

        synchronized void close() {
            try {
                detectorGraphs.values().forEach(OnnxClassifier::close);
                detectorGraphs.clear();
            } finally {
                if (model != null) {
                    model.close();
                }
                if (cellCrop != null) {
                    cellCrop.close();
                }
            }
        }
    }

    private static void checkClasses(Path meta, ModelMetadata md, String network, long outputs) {
        if (outputs != md.classes().size()) {
            throw new UserException(meta + ": lists " + md.classes().size() + " classes but the network in " + network
                    + " has " + outputs + " outputs");
        }
    }

    /**
     * Computes {@link #probabilities} (and so {@link #predict}) with ONNX Runtime on {@code graph},
     * the model.onnx {@link OnnxExport} wrote from these weights, instead of libtorch. Same inputs,
     * same temperature and softmax; the probabilities agree to about 1e-6. Features, Grad-CAM and
     * the two adaptations stay on the weights (the adaptations refuse while ONNX is in use: the graph
     * would no longer match). A cell-centred crop's segmenter moves to ONNX Runtime too where the
     * bundle has its graph ({@link CellCrop#useOnnx}).
     */
    public synchronized Classifier useOnnx(Path graph) {
        OnnxClassifier previous = onnx;
        onnx = OnnxClassifier.open(graph);
        if (previous != null) {
            previous.close();
        }
        if (network.cellCrop != null) {
            network.cellCrop.useOnnx();
        }
        return this;
    }

    /** Which engine computes the probabilities: {@code "onnx"} or {@code "torch"}. */
    public String engine() {
        return onnx == null ? "torch" : "onnx";
    }

    /** The folded network's weights as plain arrays (for {@link OnnxExport}). */
    public synchronized FoldedResNet.Weights foldedWeights() {
        try (FoldedResNet f = FoldedResNet.of(block(), network.model().getNDManager(), false)) {
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
            Formats.requireChannelsLast(metadata().imageSize());
            channelsLast = true;
            dropInference();
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
            inference = FoldedResNet.of(block(), network.model().getNDManager(), channelsLast);
        }
        return inference;
    }

    /** Forgets the inference network after the weights or their format changed; it is refolded on next use. */
    private synchronized void dropInference() {
        if (inference != null) {
            inference.close();
            inference = null;
        }
    }

    /**
     * GroupNorm and LayerNorm normalise each image by its own statistics, so unlike BatchNorm's fixed scale and
     * shift it cannot be folded into a convolution: such a model runs its block as trained.
     */
    private boolean folds() {
        return metadata.norm() == TrainConfig.Norm.BATCH;
    }

    /** Logits for a batch (N, 3, H, W); intermediate arrays live in the input's manager. */
    private NDArray logits(NDArray x) {
        return folds() ? inference().forward(x) : unfolded(block(), x);
    }

    /** The pooled features (N, 512) the head reads. */
    private NDArray pooled(NDArray x) {
        return folds() ? inference().features(x) : unfolded(ResNet18.backboneOf(block()), x);
    }

    /** Every stage's pooled output ({@link FoldedResNet#stageFeatures}), folded or not. */
    private NDArray stages(NDArray x) {
        if (folds()) {
            return inference().stageFeatures(x);
        }
        ai.djl.training.ParameterStore ps = new ai.djl.training.ParameterStore(x.getManager(), false);
        NDArray y = channelsLast ? Formats.channelsLast(x) : x;
        List<NDArray> pooled = new java.util.ArrayList<>();
        List<ai.djl.nn.Block> children = ResNet18.backboneOf(block()).getChildren().values();
        // stem and layer1..layer4; the last child is the pooling the head reads, which pooling each stage repeats.
        for (int i = 0; i < children.size() - 1; i++) {
            y = children.get(i).forward(ps, new ai.djl.ndarray.NDList(y), false).singletonOrThrow();
            NDArray p = ai.djl.nn.pooling.Pool.globalAvgPool2d(y);
            pooled.add(p.reshape(p.getShape().get(0), -1));
        }
        return ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(pooled.toArray(new NDArray[0])), 1);
    }

    /** The head applied to pooled features (N, 512). */
    private NDArray head(NDArray features) {
        return folds() ? inference().logits(features)
                : ResNet18.headOf(block()).forward(new ai.djl.training.ParameterStore(features.getManager(), false),
                        new ai.djl.ndarray.NDList(features), false).singletonOrThrow();
    }

    private NDArray unfolded(ai.djl.nn.Block net, NDArray x) {
        NDArray in = channelsLast ? Formats.channelsLast(x) : x;
        return net.forward(new ai.djl.training.ParameterStore(x.getManager(), false), new ai.djl.ndarray.NDList(in), false)
                .singletonOrThrow();
    }

    /** Wraps a block trained in this process; the classifier takes ownership of the model. */
    public static Classifier of(Model model, SequentialBlock block, ModelMetadata metadata) {
        return of(model, block, metadata, null);
    }

    /**
     * As {@link #of(Model, SequentialBlock, ModelMetadata)}, for a network trained on cell-centred
     * crops: the classifier takes ownership of {@code cellCrop} too, and {@link #save} copies it into
     * the bundle.
     */
    public static Classifier of(Model model, SequentialBlock block, ModelMetadata metadata, CellCrop cellCrop) {
        return new Classifier(new Network(null, null, null, metadata, model, block, cellCrop), metadata, null, null);
    }

    /**
     * Reads a model directory and checks it: the weights' checksum, the class count, the detector's
     * shape. The weights themselves are loaded on first use (see {@link Network}).
     */
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
        if (md.classes() == null || md.classes().isEmpty()) {
            throw new UserException(meta + ": lists no classes");
        }
        if (md.inputShape() == null && (md.preprocessing() == null || !md.preprocessing().complete())) {
            throw new UserException(meta + ": gives no input size (inputShape or preprocessing.size)");
        }
        String actual;
        try {
            actual = Hashing.sha256(weights);
        } catch (IOException e) {
            throw new UserException(weights + ": cannot load weights (" + UserException.firstLine(String.valueOf(e.getMessage())) + ")", e);
        }
        String expected = expectedSha256(meta, md);
        if (expected != null && !expected.equalsIgnoreCase(actual)) {
            throw new UserException(weights + ": checksum mismatch (sha256 " + actual + ", " + METADATA
                    + " records " + expected + "); the weights are damaged or from another model");
        }
        OodDetector detector = null;
        Path oodFile = dir.resolve(OodDetector.FILE);
        if (md.ood() != null && md.ood().kind() == OodDetector.Score.MAHALANOBIS && !Files.isRegularFile(oodFile)) {
            throw new UserException(dir + ": metadata names a Mahalanobis out-of-distribution score but "
                    + OodDetector.FILE + " is missing");
        }
        if (Files.isRegularFile(oodFile)) {
            detector = OodDetector.load(oodFile);
            if (detector.dimension() != ResNet18.STAGE_FEATURES || detector.classes() != md.classes().size()) {
                throw new UserException(oodFile + ": fitted on " + detector.dimension() + " features and "
                        + detector.classes() + " classes; this network has " + ResNet18.STAGE_FEATURES + " and "
                        + md.classes().size());
            }
        }
        CellCrop cellCrop = null;
        if (md.cellCrop() != null) {
            cellCrop = CellCrop.load(dir.resolve(md.cellCrop().segmenter()));
            if (!cellCrop.info().weightsSha256().equalsIgnoreCase(md.cellCrop().sha256())) {
                cellCrop.close();
                throw new UserException(dir.resolve(md.cellCrop().segmenter()) + ": segmentation network sha256 "
                        + cellCrop.info().weightsSha256() + ", " + METADATA + " records " + md.cellCrop().sha256());
            }
        }
        if (md.colourStandard() != null && !md.colourStandard().matches(ColourStandard.REFERENCE_MEAN, ColourStandard.REFERENCE_STD)) {
            if (cellCrop != null) {
                cellCrop.close();
            }
            throw new UserException(meta + ": colour standardisation to reference " + md.colourStandard()
                    + ", which this version of the tool does not apply (its reference is mean "
                    + java.util.Arrays.toString(ColourStandard.REFERENCE_MEAN) + ", std "
                    + java.util.Arrays.toString(ColourStandard.REFERENCE_STD) + ")");
        }
        Network network = new Network(weights, actual, meta, md, null, null, cellCrop);
        long declared = graphClasses(dir, md.onnx(), actual);
        if (declared < 0) {
            network.block(); // loads the weights, whose head the class count is checked on
        } else {
            checkClasses(meta, md, OnnxExport.FILE, declared);
        }
        return new Classifier(network, md, detector, null);
    }

    /**
     * The class count model.onnx declares, where metadata.json vouches that it is the graph export
     * wrote (its checksum) from these weights (theirs): the head then has as many outputs, and the
     * weights need not be loaded to count them. -1 where the graph cannot stand in for the weights.
     */
    private static long graphClasses(Path dir, OnnxInfo info, String weightsSha256) {
        Path graph = dir.resolve(OnnxExport.FILE);
        if (info == null || info.sha256() == null || !weightsSha256.equalsIgnoreCase(info.weightsSha256())
                || !Files.isRegularFile(graph)) {
            return -1;
        }
        try {
            return info.sha256().equalsIgnoreCase(Hashing.sha256(graph)) ? OnnxExport.outputWidth(graph, OnnxExport.OUTPUT) : -1;
        } catch (IOException e) {
            return -1; // the weights decide
        }
    }

    /**
     * The weights' checksum the metadata records: its own (models saved since schema 2) or the one
     * 'wbc export' put under export; null for older models, which load unchecked.
     */
    private static String expectedSha256(Path meta, ModelMetadata md) {
        if (md.weightsSha256() != null) {
            return md.weightsSha256();
        }
        try {
            com.fasterxml.jackson.databind.JsonNode sha = Json.MAPPER.readTree(meta.toFile()).path("export").path("weightsSha256");
            return sha.isTextual() ? sha.asText() : null;
        } catch (IOException e) {
            throw new UserException(meta + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Writes weights.params and metadata.json, the latter with the checksum of the former and without
     * an {@code onnx} entry (only export writes the graph).
     */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        java.security.MessageDigest digest = Hashing.sha256();
        AtomicFiles.write(dir.resolve(WEIGHTS), tmp -> {
            digest.reset();
            try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(
                    new java.security.DigestOutputStream(Files.newOutputStream(tmp), digest), 1 << 20))) {
                block().saveParameters(out);
            }
        });
        if (detector != null) {
            detector.save(dir.resolve(OodDetector.FILE));
        }
        if (network.cellCrop != null) {
            network.cellCrop.copyTo(dir);
        }
        // Later rewrites of metadata.json (test metrics, temperature) start from this one and keep it.
        metadata = metadata.withWeightsSha256(java.util.HexFormat.of().formatHex(digest.digest()));
        Json.write(dir.resolve(METADATA), metadata.withOnnx(null));
    }

    public ModelMetadata metadata() {
        return metadata;
    }

    /**
     * What is done to an image besides the centre square and the resize: the cell-centred crop and
     * the colour standardisation the model was trained with; null for neither.
     */
    public Framing framing() {
        return network.framing;
    }

    /** The segmentation network that frames the input on the cell, or null (the centre square). */
    public CellCrop cellCrop() {
        return network.cellCrop;
    }

    /** Turns image files and decoded images into this network's input, framed as it was trained. */
    public ModelInput input() {
        return new ModelInput(metadata, network.framing);
    }

    public SequentialBlock block() {
        return network.block();
    }

    /** The device the weights live on (inputs must be created there). */
    public ai.djl.Device device() {
        return network.model().getNDManager().getDevice();
    }

    /**
     * Class probabilities and out-of-distribution scores for every sample of the loader, in the loader's sample order; with
     * {@code dihedral} the softmax is averaged over the eight
     * flips and right-angle rotations of each image. Cells have no up or left, and training already
     * augments with exactly these views, so averaging them removes orientation noise at 8x the cost.
     */
    public Scored predict(BatchLoader loader, boolean dihedral) {
        float[][] out = new float[loader.size()][];
        double[][] scores = new double[OodDetector.Score.values().length][loader.size()];
        Iterator<Batch> it = loader.epoch(0, 0, false);
        while (it.hasNext()) {
            Batch b = it.next();
            Scored p = scored(b.images(), b.size(), b.imageSize(), dihedral);
            for (int k = 0; k < b.size(); k++) {
                out[b.samples()[k]] = p.probabilities()[k];
                for (int s = 0; s < scores.length; s++) {
                    scores[s][b.samples()[k]] = p.scores()[s][k];
                }
            }
        }
        return new Scored(out, scores);
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
     * predicts for the target domain. A GroupNorm or LayerNorm model has no such statistics and is refused
     * ({@link #requireBatchNorm}).
     *
     * @param images normalized CHW images at the model's size (at most {@link #ADAPT_MAX_IMAGES}; at least 16)
     * @return the number of batches averaged
     */
    public synchronized int adaptBatchNorm(List<float[]> images) {
        requireBatchNorm();
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
        NDManager manager = network.model().getNDManager();
        SequentialBlock block = block();
        ai.djl.training.ParameterStore ps = new ai.djl.training.ParameterStore(manager, false);
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
            try (NDManager sub = manager.newSubManager()) {
                NDArray x = sub.create(FloatBuffer.wrap(buf), new Shape(batch, 3, size, size));
                block.forward(ps, new ai.djl.ndarray.NDList(x), true);
            }
        }
        dropInference();
        return ADAPT_BATCHES;
    }

    /**
     * Refuses test-time BatchNorm adaptation of a GroupNorm or LayerNorm model, whose normalisation already
     * follows each image: silently doing nothing would let a user believe the model was adapted.
     */
    public void requireBatchNorm() {
        if (metadata.norm() != TrainConfig.Norm.BATCH) {
            throw new UserException("--adapt-bn: this model uses " + metadata.norm().layerName() + ", which keeps no BatchNorm statistics to"
                    + " re-estimate (it normalises each image by its own)");
        }
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
        return features(images, n, size, false);
    }

    /** With {@code everyStage}, every stage's pooled output ({@link FoldedResNet#stageFeatures}, n x 1024). */
    public float[][] features(float[] images, int n, int size, boolean everyStage) {
        try (NDManager sub = network.model().getNDManager().newSubManager()) {
            NDArray x = batch(sub, images, n, size);
            return rows((everyStage ? stages(x) : pooled(x)).toFloatArray(), n);
        }
    }

    /** The head's weight (classes x features, row-major) and bias. */
    public synchronized float[][] head() {
        List<ai.djl.nn.Parameter> p = ResNet18.headOf(block()).getParameters().values();
        return new float[][] {p.get(0).getArray().toFloatArray(), p.get(1).getArray().toFloatArray()};
    }

    /** Replaces the head's weight (classes x features, row-major) and bias in place. */
    public synchronized void setHead(float[] weight, float[] bias) {
        requireTorch("replacing the head");
        List<ai.djl.nn.Parameter> p = ResNet18.headOf(block()).getParameters().values();
        p.get(0).getArray().set(FloatBuffer.wrap(weight));
        p.get(1).getArray().set(FloatBuffer.wrap(bias));
        dropInference();
    }

    /**
     * A trainer over this network's own weights, for fine-tuning them in place (a new lab's few
     * cells); the folded inference network is rebuilt from the changed weights on next use.
     */
    public synchronized ai.djl.training.Trainer newTrainer(ai.djl.training.TrainingConfig config) {
        requireTorch("fine-tuning");
        dropInference();
        return network.model().newTrainer(config);
    }

    private void requireTorch(String what) {
        if (onnx != null) {
            throw new IllegalStateException(what + " changes the weights, which the ONNX graph in use would not follow");
        }
    }

    /** A classifier with other metadata and the same network (and engine); this one must not be used afterwards. */
    public Classifier withMetadata(ModelMetadata md) {
        return new Classifier(network, md, detector, onnx);
    }

    /** The same network with another out-of-distribution detector; this one must not be used afterwards. */
    public Classifier withDetector(OodDetector d) {
        return new Classifier(network, metadata, d, onnx);
    }

    public OodDetector detector() {
        return detector;
    }

    /**
     * Probabilities of a batch and its out-of-distribution scores ({@link OodDetector#scores}: all
     * three, {@code scores[kind.ordinal()][image]}), from one forward pass. With {@code dihedral} the
     * probabilities are averaged over the eight views and the scores read the image as given.
     */
    public record Scored(float[][] probabilities, double[][] scores) {}

    public Scored scored(float[] images, int n, int size, boolean dihedral) {
        OnnxClassifier o = onnx;
        float t = (float) metadata.softmaxTemperature();
        if (o != null) {
            OnnxClassifier.Outputs out = o.run(images, n, size);
            float[][] probs = dihedral ? o.probabilities(images, n, size, true, t)
                    : OnnxClassifier.softmax(copy(out.logits()), t);
            double[] m = null;
            if (detector != null) {
                // Graphs exported before the stage output existed: the features come from libtorch.
                float[][] stages = out.stages() != null ? out.stages() : features(images, n, size, true);
                m = OodDetector.mahalanobis(network.detectorGraph(detector, o.intraOpThreads()), flat(stages), n);
            }
            return new Scored(probs, OodDetector.scores(m, out.logits()));
        }
        try (NDManager sub = network.model().getNDManager().newSubManager()) {
            NDArray x = batch(sub, images, n, size);
            NDArray stages = stages(x);
            NDArray logits = head(stages.get(":, " + (stages.getShape().get(1) - ResNet18.FEATURES) + ":"));
            NDArray probs = softmax(x, logits, dihedral);
            double[] m = detector == null ? null : OodDetector.mahalanobis(stages, detectorArrays());
            return new Scored(rows(probs.toFloatArray(), n), OodDetector.scores(m, rows(logits.toFloatArray(), n)));
        }
    }

    /** The detector's matrices as arrays of the model's manager, made on first use and kept with the model. */
    private synchronized NDArray[] detectorArrays() {
        if (detectorArrays == null) {
            detectorArrays = detector.toArrays(network.model().getNDManager());
        }
        return detectorArrays;
    }

    private static float[][] copy(float[][] a) {
        float[][] out = new float[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i].clone();
        }
        return out;
    }

    private static float[] flat(float[][] rows) {
        int d = rows[0].length;
        float[] out = new float[rows.length * d];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, out, i * d, d);
        }
        return out;
    }

    /** The out-of-distribution score the metadata names, per image of a {@link Scored}; null when none is set. */
    public double[] oodScore(Scored s) {
        return metadata.ood() == null ? null : s.scores()[metadata.ood().kind().ordinal()];
    }

    /** Whether a score from {@link #oodScore} is above the threshold fitted on held-out training-distribution images. */
    public boolean outOfDistribution(double score) {
        return metadata.ood() != null && metadata.ood().flags(score);
    }

    private static float[][] rows(float[] flat, int n) {
        int d = flat.length / n;
        float[][] out = new float[n][d];
        for (int i = 0; i < n; i++) {
            System.arraycopy(flat, i * d, out[i], 0, d);
        }
        return out;
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
        try (NDManager sub = network.model().getNDManager().newSubManager()) {
            NDArray x = batch(sub, images, n, size);
            return rows(softmax(x, logits(x), dihedral).toFloatArray(), n);
        }
    }

    /**
     * Softmax of the logits of x divided by the temperature; with {@code dihedral} the mean over the
     * eight flips and right-angle rotations of x, the first view's logits being those given.
     */
    private NDArray softmax(NDArray x, NDArray logits, boolean dihedral) {
        float t = (float) metadata.softmaxTemperature();
        NDArray probs = scaled(logits, t).softmax(1);
        if (!dihedral) {
            return probs;
        }
        for (int view = 1; view < 8; view++) {
            NDArray v = view >= 4 ? x.flip(3) : x;
            probs = probs.add(scaled(logits(v.rotate90(view % 4, new int[] {2, 3})), t).softmax(1));
        }
        return probs.div(8f);
    }

    /** n normalized NCHW images as an array of {@code manager}. */
    private static NDArray batch(NDManager manager, float[] images, int n, int size) {
        return manager.create(FloatBuffer.wrap(images, 0, n * 3 * size * size), new Shape(n, 3, size, size));
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
            network.close();
        }
    }
}
