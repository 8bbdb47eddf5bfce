package org.wbctransfer.explain;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ResNet18;
import org.wbctransfer.model.ResNetBackbone;

/**
 * Grad-CAM (Selvaraju et al., ICCV 2017): a residual stage's feature maps weighted by how much the
 * chosen class logit grows with each of them. The stage is selectable ({@link Layer}): layer4, the
 * last stage, is the paper's choice but is only 2x2 at 64 px and paints most of the image (its map's
 * mass on the cell is the cell's area fraction, no better than a uniform map); layer3 (4x4 at 64 px)
 * and layer2 (8x8) localise more finely, and two maps can be combined after each is upsampled to
 * the input. {@link #DEFAULT}, layer2, was chosen by measurement: on the 400 labelled wbc-seg images
 * the most of its map's mass lies on the cell (57 % against 47 % for layer3 and 29 % for layer4 and
 * for a uniform map; docs/gradcam).
 *
 * <p>The gradient comes from autograd, not from the closed form of the pooled linear head, so the
 * map stays correct if the head ever gains layers.
 */
public final class GradCam {

    /** Which stage(s) the map is computed on. */
    public enum Layer {
        LAYER2("layer2", "layer2", 2),
        LAYER3("layer3", "layer3", 3),
        LAYER4("layer4", "layer4", 4),
        /** Mean of the layer3 and layer4 maps, each upsampled to the input first, then divided by its maximum. */
        MEAN34("mean34", "mean of layer3 and layer4", 3, 4),
        /** Product of the upsampled layer3 and layer4 maps: where both agree; divided by its maximum. */
        PRODUCT34("product34", "product of layer3 and layer4", 3, 4);

        private final String key;
        private final String label;
        private final int[] stages;

        Layer(String key, String label, int... stages) {
            this.key = key;
            this.label = label;
            this.stages = stages;
        }

        /** The name on the command line and in the API (layer3, product34, ...). */
        public String key() {
            return key;
        }

        /** The backbone stages it reads (2 = layer2, ... 4 = layer4). */
        public int[] stages() {
            return stages.clone();
        }

        public boolean combined() {
            return stages.length > 1;
        }

        /** Side of a stage's map at an input side (strides 4, 4, 8, 16, 32 for stem, layer1..layer4). */
        public static int side(int stage, int inputSize) {
            int s = inputSize;
            for (int i = 0; i < Math.max(2, stage + 1); i++) {
                s = (s + 1) / 2; // stride-2 convolution/pooling with padding: ceil
            }
            return s;
        }

        /** e.g. "layer3, 4x4 map at 64 px, upsampled" or "product of layer3 and layer4, 4x4 and 2x2 maps ...". */
        public String resolution(int inputSize) {
            StringBuilder grids = new StringBuilder();
            for (int i = 0; i < stages.length; i++) {
                int n = side(stages[i], inputSize);
                grids.append(i == 0 ? "" : " and ").append(n).append('x').append(n);
            }
            return label + ", " + grids + (combined() ? " maps" : " map") + " at " + inputSize + " px, upsampled";
        }

        public static Layer parse(String s) {
            for (Layer l : values()) {
                if (l.key.equalsIgnoreCase(s.strip())) {
                    return l;
                }
            }
            throw new IllegalArgumentException("unknown Grad-CAM layer '" + s + "'; one of " + keys());
        }

        public static String keys() {
            return java.util.Arrays.stream(values()).map(Layer::key).collect(java.util.stream.Collectors.joining(", "));
        }
    }

    /** The layer {@code wbc explain}, serve and the page use unless told otherwise (see docs/gradcam). */
    public static final Layer DEFAULT = Layer.LAYER2;

    /**
     * @param cam the class activation map in [0, 1], rows of {@code width}: on the stage's grid for a
     *     single layer, at the input's side for a combination
     * @param height rows of {@code cam} (for one stage: input size / its stride)
     * @param width columns of {@code cam}
     * @param targetClass the class the map explains
     * @param logits the network's outputs for the image
     * @param probabilities softmax of the logits, as {@code Classifier.probabilities} gives them
     * @param activations the stage's activations A (channels x height x width, flattened); null for a combination
     * @param gradients d logit[targetClass] / d A, same layout; null for a combination
     * @param channels the stage's channels; 0 for a combination
     * @param layer the layer choice
     * @param inputSize the model's input side
     * @param parts for a combination, the single-stage results it combines; empty otherwise
     */
    public record Result(float[] cam, int height, int width, int targetClass, float[] logits, float[] probabilities,
            float[] activations, float[] gradients, int channels, Layer layer, int inputSize, List<Result> parts) {

        /** The map resampled (bilinear) to size x size, for display over the (square) input. */
        public float[] upsampled(int size) {
            if (parts.isEmpty()) {
                return upsample(cam, height, width, size);
            }
            List<float[]> maps = new ArrayList<>();
            for (Result p : parts) {
                maps.add(p.upsampled(size));
            }
            return combine(layer, maps);
        }

        /** No positive evidence at this layer for the target class: the ReLU left every cell of the map at 0. */
        public boolean empty() {
            for (float v : upsampled(inputSize)) {
                if (v > 0) {
                    return false;
                }
            }
            return true;
        }

        /** What the map was computed on, e.g. "layer3, 4x4 map at 64 px, upsampled". */
        public String resolution() {
            return layer.resolution(inputSize);
        }
    }

    private GradCam() {}

    /** Explains one image on {@link #DEFAULT}. */
    public static Result compute(Classifier classifier, float[] image, int targetClass) {
        return compute(classifier, image, targetClass, DEFAULT);
    }

    /**
     * Explains one image.
     *
     * @param image one normalized image, CHW floats (as {@code Augmenter.plain} writes them)
     * @param targetClass class index to explain, or negative for the predicted class
     */
    public static Result compute(Classifier classifier, float[] image, int targetClass, Layer layer) {
        int size = classifier.metadata().imageSize();
        if (!layer.combined()) {
            return stage(classifier, image, targetClass, layer);
        }
        List<Result> parts = new ArrayList<>();
        for (int st : layer.stages) {
            // The first part fixes the class, so every part explains the same one.
            parts.add(stage(classifier, image, parts.isEmpty() ? targetClass : parts.get(0).targetClass(), single(st)));
        }
        return combined(layer, parts);
    }

    /** A combination's result from its single-stage results (for the same image and class). */
    public static Result combined(Layer layer, List<Result> parts) {
        Result first = parts.get(0);
        int size = first.inputSize();
        List<float[]> maps = new ArrayList<>();
        for (Result p : parts) {
            maps.add(p.upsampled(size));
        }
        return new Result(combine(layer, maps), size, size, first.targetClass(), first.logits(), first.probabilities(),
                null, null, 0, layer, size, List.copyOf(parts));
    }

    /** The single-stage choice of a backbone stage (2..4). */
    public static Layer single(int stage) {
        return switch (stage) {
            case 2 -> Layer.LAYER2;
            case 3 -> Layer.LAYER3;
            case 4 -> Layer.LAYER4;
            default -> throw new IllegalArgumentException("no Grad-CAM choice for stage " + stage);
        };
    }

    /** The combination of maps of one size: mean or product, then divided by the maximum. */
    static float[] combine(Layer layer, List<float[]> maps) {
        float[] out = maps.get(0).clone();
        for (int m = 1; m < maps.size(); m++) {
            float[] b = maps.get(m);
            for (int i = 0; i < out.length; i++) {
                out[i] = layer == Layer.PRODUCT34 ? out[i] * b[i] : out[i] + b[i];
            }
        }
        normalize(out);
        return out;
    }

    private static Result stage(Classifier classifier, float[] image, int targetClass, Layer layer) {
        SequentialBlock block = classifier.block();
        int size = classifier.metadata().imageSize();
        int numClasses = classifier.metadata().classes().size();
        if (image.length != 3 * size * size) {
            throw new IllegalArgumentException("expected 3x" + size + "x" + size + " floats, got " + image.length);
        }
        if (targetClass >= numClasses) {
            throw new IllegalArgumentException("class index " + targetClass + " out of range 0.." + (numClasses - 1));
        }
        ResNetBackbone backbone = ResNet18.backboneOf(block);
        List<Block> stages = new ArrayList<>(backbone.getChildren().values());
        int at = layer.stages[0];
        Block head = ResNet18.headOf(block);
        try (NDManager m = NDManager.newBaseManager(classifier.device())) {
            NDArray x = m.create(FloatBuffer.wrap(image), new Shape(1, 3, size, size));
            ParameterStore ps = new ParameterStore(m, false);
            NDList y = new NDList(x);
            for (int i = 0; i <= at; i++) {
                y = stages.get(i).forward(ps, y, false);
            }
            // A detached copy makes the stage's activations a leaf of the graph: backward then stops
            // there instead of running through (and accumulating gradients into) the earlier stages.
            NDArray a = y.singletonOrThrow().stopGradient();
            Shape s = a.getShape();
            int k = (int) s.get(1);
            int h = (int) s.get(2);
            int w = (int) s.get(3);
            float[] logits;
            float[] grads;
            int target;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                a.setRequiresGradient(true);
                NDList z = new NDList(a);
                for (int i = at + 1; i < stages.size(); i++) { // the later stages, then global pooling
                    z = stages.get(i).forward(ps, z, false);
                }
                NDArray out = head.forward(ps, z, false).singletonOrThrow();
                logits = out.toFloatArray();
                target = targetClass >= 0 ? targetClass : Classifier.argMax(logits);
                gc.backward(out.get(0, target));
                // Read inside the collector: closing it may reset gradients.
                grads = a.getGradient().toFloatArray();
            }
            float[] acts = a.toFloatArray();
            float[] cam = new float[h * w];
            int plane = h * w;
            for (int c = 0; c < k; c++) {
                double weight = 0;
                for (int i = 0; i < plane; i++) {
                    weight += grads[c * plane + i];
                }
                weight /= plane;
                for (int i = 0; i < plane; i++) {
                    cam[i] += (float) (weight * acts[c * plane + i]);
                }
            }
            normalize(cam);
            return new Result(cam, h, w, target, logits, softmax(logits), acts, grads, k, layer, size, List.of());
        }
    }

    /**
     * ReLU, then division by the maximum (the paper's normalization). Min-max scaling would stretch
     * a flat map (at 32 px input layer4 is 1x1) into noise or zero; dividing by the maximum keeps a
     * uniform map uniform.
     */
    static void normalize(float[] cam) {
        float max = 0;
        for (int i = 0; i < cam.length; i++) {
            cam[i] = Math.max(cam[i], 0f);
            max = Math.max(max, cam[i]);
        }
        for (int i = 0; i < cam.length; i++) {
            cam[i] = max > 0 ? Math.min(cam[i] / max, 1f) : 0f;
        }
    }

    /**
     * Bilinear resampling with pixel centres aligned (PyTorch's align_corners=false), so each map
     * cell sits over the part of the image it summarises; beyond the outer cell centres the map is
     * held flat.
     */
    public static float[] upsample(float[] map, int h, int w, int size) {
        float[] out = new float[size * size];
        for (int y = 0; y < size; y++) {
            double sy = Math.min(Math.max((y + 0.5) * h / size - 0.5, 0), h - 1);
            int y0 = (int) sy;
            int y1 = Math.min(y0 + 1, h - 1);
            double fy = sy - y0;
            for (int x = 0; x < size; x++) {
                double sx = Math.min(Math.max((x + 0.5) * w / size - 0.5, 0), w - 1);
                int x0 = (int) sx;
                int x1 = Math.min(x0 + 1, w - 1);
                double fx = sx - x0;
                double top = map[y0 * w + x0] * (1 - fx) + map[y0 * w + x1] * fx;
                double bot = map[y1 * w + x0] * (1 - fx) + map[y1 * w + x1] * fx;
                out[y * size + x] = (float) (top * (1 - fy) + bot * fy);
            }
        }
        return out;
    }

    static float[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        double[] e = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            e[i] = Math.exp(logits[i] - max);
            sum += e[i];
        }
        float[] p = new float[logits.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) (e[i] / sum);
        }
        return p;
    }

}
