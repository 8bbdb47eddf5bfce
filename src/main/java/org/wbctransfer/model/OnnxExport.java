package org.wbctransfer.model;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import onnx.OnnxProto.AttributeProto;
import onnx.OnnxProto.GraphProto;
import onnx.OnnxProto.ModelProto;
import onnx.OnnxProto.NodeProto;
import onnx.OnnxProto.OperatorSetIdProto;
import onnx.OnnxProto.StringStringEntryProto;
import onnx.OnnxProto.TensorProto;
import onnx.OnnxProto.TensorShapeProto;
import onnx.OnnxProto.TypeProto;
import onnx.OnnxProto.ValueInfoProto;
import onnx.OnnxProto.Version;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Hashing;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.Versions;

/**
 * Writes a classifier as an ONNX graph ({@code model.onnx} of a bundle): the ResNet-18 of {@link
 * FoldedResNet}, BatchNorm folded into the convolutions' weights and biases by the same arithmetic,
 * as standard operators (Conv, Relu, MaxPool, Add, GlobalAveragePool, Flatten, Gemm) of opset
 * {@value #OPSET}. The input is a float32 NCHW batch of any size N ({@code "batch"}) at the
 * model's image size, normalized as the metadata says; the output is the logits, classes in the
 * metadata's order (no softmax and no temperature: readers apply both, as {@link Classifier} does).
 * The messages are the classes protoc generates from the vendored {@code src/main/proto/onnx.proto}.
 */
public final class OnnxExport {

    /** The bundle's graph file. */
    public static final String FILE = "model.onnx";
    /** Operator set of the default domain: 17 (ONNX 1.12, 2022), read by ONNX Runtime 1.12 and later. */
    public static final int OPSET = 17;
    /** IR version 8, the one opset 17 came with: the oldest a reader of opset 17 must understand. */
    public static final int IR_VERSION = Version.IR_VERSION_2021_7_30_VALUE;
    public static final String INPUT = "input";
    public static final String OUTPUT = "logits";
    /** The second output: every stage's pooled features (batch, 1024), which the out-of-distribution score reads. */
    public static final String STAGES = "stage_features";
    /** The segmenter's graph file, in a bundle's segmenter folder. */
    public static final String SEGMENTER_FILE = "segmenter.onnx";
    /** The segmenter graph's output: the per-pixel class. */
    public static final String LABELS = "labels";
    /** The symbolic batch dimension of input and output. */
    public static final String BATCH = "batch";

    private final GraphProto.Builder graph;

    private OnnxExport(String name) {
        graph = GraphProto.newBuilder().setName(name);
    }

    /**
     * Writes the classifier's graph to {@code file} (atomically) and returns what metadata.json
     * records about it.
     *
     * @param weightsSha256 SHA-256 of the weights.params the classifier was loaded from
     */
    public static OnnxInfo write(Classifier c, Path file, String weightsSha256) throws IOException {
        ModelProto model = model(c, c.metadata().imageSize());
        AtomicFiles.write(file, tmp -> {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
                model.writeTo(out);
            }
        });
        return info(c.metadata(), weightsSha256).withSha256(Hashing.sha256(file));
    }

    /** The serialized graph for inputs of {@code size} x {@code size} pixels (the bench's other sizes). */
    public static byte[] bytes(Classifier c, int size) {
        return model(c, size).toByteArray();
    }

    /**
     * The serialized graph of folded weights with no bundle behind them (the bench's freshly
     * initialised network): the classes are placeholders and the normalisation the identity.
     */
    public static byte[] bytes(FoldedResNet.Weights w, int size) {
        int k = (int) w.headShape()[0];
        List<String> classes = java.util.stream.IntStream.range(0, k).mapToObj(i -> "class" + i).toList();
        return model(w, classes, new double[] {0, 0, 0}, new double[] {1, 1, 1}, size).toByteArray();
    }

    /** What metadata.json's {@code onnx} entry says about a graph written by {@link #write}. */
    static OnnxInfo info(ModelMetadata md, String weightsSha256) {
        int size = md.imageSize();
        return new OnnxInfo(FILE, OPSET, IR_VERSION, INPUT, List.of(BATCH, 3, size, size), "NCHW", "float32", "RGB",
                "pixels scaled to [0, 1], minus normalization.mean, divided by normalization.std, per channel"
                        + " (this metadata's normalization)",
                OUTPUT, List.of(BATCH, md.classes().size()), false,
                "not applied in the graph: divide the logits by this metadata's temperature (1 when absent) before"
                        + " the softmax",
                true, weightsSha256, null);
    }

    /**
     * The second dimension a graph file declares for its output {@code name} (the class count, for
     * the logits), or -1 where it declares none. Read from the graph's outputs alone: its weights
     * are skipped unread.
     */
    static long outputWidth(Path file, String name) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            CodedInputStream c = CodedInputStream.newInstance(in);
            for (int tag; (tag = c.readTag()) != 0; ) {
                if (WireFormat.getTagFieldNumber(tag) != ModelProto.GRAPH_FIELD_NUMBER) {
                    c.skipField(tag);
                    continue;
                }
                int end = c.pushLimit(c.readRawVarint32());
                for (int t; (t = c.readTag()) != 0; ) {
                    if (WireFormat.getTagFieldNumber(t) != GraphProto.OUTPUT_FIELD_NUMBER) {
                        c.skipField(t);
                        continue;
                    }
                    ValueInfoProto v = ValueInfoProto.parseFrom(c.readBytes());
                    TensorShapeProto shape = v.getType().getTensorType().getShape();
                    if (v.getName().equals(name)) {
                        return shape.getDimCount() == 2 && shape.getDim(1).hasDimValue() ? shape.getDim(1).getDimValue() : -1;
                    }
                }
                c.popLimit(end);
            }
        }
        return -1;
    }

    static ModelProto model(Classifier c, int size) {
        ModelMetadata md = c.metadata();
        return model(c.foldedWeights(), md.classes(), md.normalization().mean(), md.normalization().std(), size);
    }

    private static ModelProto model(FoldedResNet.Weights w, List<String> classNames, double[] mean, double[] std, int size) {
        int classes = classNames.size();
        if (w.headShape()[0] != classes) {
            throw new IllegalArgumentException("head has " + w.headShape()[0] + " outputs, metadata " + classes + " classes");
        }
        OnnxExport e = new OnnxExport("wbc_resnet18");
        e.graph.addInput(value(INPUT, 3, size, size));
        List<String> levels = e.trunk(w.stem(), w.blocks());
        List<String> stages = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            stages.add(e.pooled(levels.get(i), i == 0 ? "stem" : "layer" + i));
        }
        String x = e.node("GlobalAveragePool", "avgpool", List.of(levels.get(4)));
        x = e.node("Flatten", "flatten", List.of(x), integer("axis", 1));
        stages.add(x);
        // A second output for the out-of-distribution score: every stage's pooled features, as
        // FoldedResNet.stageFeatures gives them (the last 512 are what the head reads).
        e.graph.addNode(NodeProto.newBuilder().setOpType("Concat").setName("stage_features").addAllInput(stages)
                .addOutput(STAGES).addAttribute(integer("axis", 1)));
        e.graph.addInitializer(tensor("fc.weight", w.headShape(), w.headWeight()));
        e.graph.addInitializer(tensor("fc.bias", new long[] {w.headBias().length}, w.headBias()));
        e.graph.addNode(NodeProto.newBuilder().setOpType("Gemm").setName("fc").addInput(x).addInput("fc.weight")
                .addInput("fc.bias").addOutput(OUTPUT).addAttribute(integer("transB", 1)));
        e.graph.addOutput(value(OUTPUT, classes));
        e.graph.addOutput(value(STAGES, ResNet18.STAGE_FEATURES));

        ModelProto.Builder m = e.model("White-blood-cell classifier (ResNet-18, BatchNorm folded into the convolutions)."
                + " Input: float32 NCHW RGB at " + size + " x " + size + " px, scaled to [0, 1] and normalized"
                + " with normalization_mean / normalization_std; output: logits in the order of classes."
                + " Research use only; not a medical device.");
        m.addMetadataProps(prop("classes", Json.MAPPER.valueToTree(classNames).toString()));
        m.addMetadataProps(prop("normalization_mean", Arrays.toString(mean)));
        m.addMetadataProps(prop("normalization_std", Arrays.toString(std)));
        m.addMetadataProps(prop("output", "logits (no softmax, no temperature)"));
        return m.build();
    }

    /**
     * The folded ResNet-18 up to layer4: stem convolution, ReLU, max pool, then the eight
     * BasicBlocks. Returns the names of the outputs of the stem (after the pool) and of layer1..layer4.
     */
    private List<String> trunk(FoldedResNet.ConvWeights stem, List<FoldedResNet.BlockWeights> blocks) {
        String x = relu("relu", conv(INPUT, stem, "conv1"));
        x = node("MaxPool", "maxpool", List.of(x), ints("kernel_shape", 3, 3), ints("strides", 2, 2),
                ints("pads", 1, 1, 1, 1), integer("ceil_mode", 0));
        List<String> levels = new java.util.ArrayList<>(List.of(x));
        for (int i = 0; i < blocks.size(); i++) {
            FoldedResNet.BlockWeights b = blocks.get(i);
            String name = "layer" + (i / 2 + 1) + "." + (i % 2);
            String y = relu(name + ".relu1", conv(x, b.conv1(), name + ".conv1"));
            y = conv(y, b.conv2(), name + ".conv2");
            String shortcut = b.shortcut() == null ? x : conv(x, b.shortcut(), name + ".downsample.0");
            x = relu(name + ".relu2", node("Add", name + ".add", List.of(y, shortcut)));
            if (i % 2 == 1) {
                levels.add(x);
            }
        }
        return levels;
    }

    /**
     * Writes a {@link CellCrop}'s segmentation network as an ONNX graph ({@link #SEGMENTER_FILE}):
     * {@link MaskNet} with its backbone's and decoder's BatchNorm folded, the nearest upsampling of
     * the top-down path as Resize (and Slice where a level is odd-sized), the bilinear resize to the
     * input size as the same two interpolation matrices {@link MaskNet#bilinear} multiplies by, and
     * the per-pixel class as ArgMax. Input as the segmenter's (float32 NCHW at {@code size}, its own
     * normalisation); output {@value #LABELS}, int64 (batch, size, size): 0 background, 1 cytoplasm,
     * 2 nucleus. Returns the file's SHA-256.
     */
    public static String writeSegmenter(FoldedResNet.SegmenterWeights w, int size, Path file) throws IOException {
        ModelProto model = segmenter(w, size);
        AtomicFiles.write(file, tmp -> {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
                model.writeTo(out);
            }
        });
        return Hashing.sha256(file);
    }

    static ModelProto segmenter(FoldedResNet.SegmenterWeights w, int size) {
        OnnxExport e = new OnnxExport("wbc_cell_segmenter");
        e.graph.addInput(value(INPUT, 3, size, size));
        List<String> levels = e.trunk(w.stem(), w.blocks());
        // The side of each level, as MaskNet.initializeDecoder computes it: stem and layer1 share one.
        int[] side = new int[5];
        side[0] = ((size + 2 * 3 - 7) / 2 + 1 + 2 - 3) / 2 + 1;
        side[1] = side[0];
        for (int i = 2; i < 5; i++) {
            side[i] = (side[i - 1] + 2 - 3) / 2 + 1;
        }
        e.graph.addInitializer(tensor("up.scales", new long[] {4}, new float[] {1, 1, 2, 2}));
        String p = e.conv(levels.get(4), w.lateral().get(3), "lateral4");
        for (int i = 2; i >= 0; i--) {
            String c = e.conv(levels.get(i + 1), w.lateral().get(i), "lateral" + (i + 1));
            // Nearest x2 as MaskNet.upsample2 repeats rows and columns: source index floor(i / 2).
            String up = e.node("Resize", "up" + (i + 1), List.of(p, "", "up.scales"), text("mode", "nearest"),
                    text("coordinate_transformation_mode", "asymmetric"), text("nearest_mode", "floor"));
            if (2 * side[i + 2] != side[i + 1]) {
                String n = "up" + (i + 1) + ".crop";
                e.graph.addInitializer(longs(n + ".starts", 0, 0));
                e.graph.addInitializer(longs(n + ".ends", side[i + 1], side[i + 1]));
                e.graph.addInitializer(longs(n + ".axes", 2, 3));
                up = e.node("Slice", n, List.of(up, n + ".starts", n + ".ends", n + ".axes"));
            }
            p = e.node("Add", "topdown" + (i + 1), List.of(c, up));
        }
        p = e.relu("smooth.relu", e.conv(p, w.smooth(), "smooth"));
        String logits = e.conv(p, w.classify(), "classify");
        int h = side[0];
        e.graph.addInitializer(tensor("bilinear.rows", new long[] {size, h}, MaskNet.interpolation(h, size)));
        e.graph.addInitializer(tensor("bilinear.cols", new long[] {h, size}, transpose(MaskNet.interpolation(h, size), size, h)));
        String rows = e.node("MatMul", "bilinear.y", List.of("bilinear.rows", logits));
        String full = e.node("MatMul", "bilinear.x", List.of(rows, "bilinear.cols"));
        e.graph.addNode(NodeProto.newBuilder().setOpType("ArgMax").setName("argmax").addInput(full).addOutput(LABELS)
                .addAttribute(integer("axis", 1)).addAttribute(integer("keepdims", 0)));
        e.graph.addOutput(typedValue(LABELS, TensorProto.DataType.INT64_VALUE, size, size));
        return e.model("White-cell segmenter for the cell-centred crop (ResNet-18 and a light FPN decoder,"
                + " BatchNorm folded). Input: float32 NCHW RGB at " + size + " x " + size + " px, normalised"
                + " as segmenter.json says; output: int64 per-pixel class, 0 background, 1 cytoplasm, 2 nucleus.").build();
    }

    /** This graph in a model of opset {@value #OPSET}, IR {@link #IR_VERSION}, with the producer's name and version. */
    private ModelProto.Builder model(String doc) {
        return ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setProducerName("wbc-transfer")
                .setProducerVersion(String.valueOf(Versions.all().get("wbc-transfer")))
                .setDomain("org.wbctransfer")
                .setModelVersion(1)
                .setDocString(doc)
                .setGraph(graph);
    }

    /** (rows x cols) row-major to (cols x rows). */
    private static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = a[r * cols + c];
            }
        }
        return t;
    }

    /** Global average pooling and flattening of a stage's output; returns the (batch, channels) name. */
    private String pooled(String x, String stage) {
        String p = node("GlobalAveragePool", stage + ".pool", List.of(x));
        return node("Flatten", stage + ".pool.flatten", List.of(p), integer("axis", 1));
    }

    /** A convolution with its folded weight and bias as initializers; returns its output's name. */
    private String conv(String input, FoldedResNet.ConvWeights c, String name) {
        graph.addInitializer(tensor(name + ".weight", c.shape(), c.weight()));
        graph.addInitializer(tensor(name + ".bias", new long[] {c.bias().length}, c.bias()));
        int k = (int) c.shape()[2];
        int s = c.stride();
        int p = c.padding();
        return node("Conv", name, List.of(input, name + ".weight", name + ".bias"), ints("kernel_shape", k, k),
                ints("strides", s, s), ints("pads", p, p, p, p), ints("dilations", 1, 1), integer("group", 1));
    }

    private String relu(String name, String input) {
        return node("Relu", name, List.of(input));
    }

    /** Adds a node whose one output is named after it; returns that name. */
    private String node(String op, String name, List<String> inputs, AttributeProto... attributes) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addOutput(name);
        for (AttributeProto a : attributes) {
            n.addAttribute(a);
        }
        graph.addNode(n);
        return name;
    }

    static AttributeProto ints(String name, long... values) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long v : values) {
            a.addInts(v);
        }
        return a.build();
    }

    static AttributeProto integer(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    static AttributeProto text(String name, String value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING)
                .setS(ByteString.copyFromUtf8(value)).build();
    }

    /** A one-dimensional int64 tensor. */
    static TensorProto longs(String name, long... values) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE)
                .addDims(values.length);
        for (long v : values) {
            t.addInt64Data(v);
        }
        return t.build();
    }

    /** A float32 tensor; its data as raw_data, little-endian as the ONNX specification requires. */
    static TensorProto tensor(String name, long[] dims, float[] data) {
        long count = Arrays.stream(dims).reduce(1, (a, b) -> a * b);
        if (count != data.length) {
            throw new IllegalArgumentException(name + ": " + data.length + " values for dims " + Arrays.toString(dims));
        }
        ByteBuffer buf = ByteBuffer.allocate(data.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(data);
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .setRawData(ByteString.copyFrom(buf));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    /** A float32 graph input or output of shape (batch, dims...). */
    static ValueInfoProto value(String name, long... dims) {
        return typedValue(name, TensorProto.DataType.FLOAT_VALUE, dims);
    }

    /** A graph input or output of this element type and shape (batch, dims...). */
    static ValueInfoProto typedValue(String name, int elemType, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder()
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(BATCH));
        for (long d : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }

    private static StringStringEntryProto prop(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }
}
