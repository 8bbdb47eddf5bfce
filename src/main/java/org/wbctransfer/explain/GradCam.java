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
 * Grad-CAM (Selvaraju et al., ICCV 2017) on the output of layer4, the last residual stage: the
 * stage's feature maps weighted by how much the chosen class logit grows with each of them. layer4
 * is used because it is the last layer that still has spatial extent and its features are the
 * ones the head actually reads.
 *
 * <p>The gradient comes from autograd, not from the closed form of the pooled linear head, so the
 * map stays correct if the head ever gains layers.
 */
public final class GradCam {

    /**
     * @param cam the class activation map on the layer4 grid, rows of {@code width}, in [0, 1]
     * @param height layer4 rows (input size / 32)
     * @param width layer4 columns
     * @param targetClass the class the map explains
     * @param logits the network's outputs for the image
     * @param probabilities softmax of the logits, as {@code Classifier.probabilities} gives them
     * @param activations layer4 activations A (channels x height x width, flattened)
     * @param gradients d logit[targetClass] / d A, same layout
     */
    public record Result(float[] cam, int height, int width, int targetClass, float[] logits, float[] probabilities,
            float[] activations, float[] gradients, int channels) {

        /** The map resampled to size x size, for display over the (square) input. */
        public float[] upsampled(int size) {
            return upsample(cam, height, width, size);
        }
    }

    private GradCam() {}

    /**
     * Explains one image.
     *
     * @param image one normalized image, CHW floats (as {@code Augmenter.plain} writes them)
     * @param targetClass class index to explain, or negative for the predicted class
     */
    public static Result compute(Classifier classifier, float[] image, int targetClass) {
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
        Block pooling = stages.get(stages.size() - 1);
        Block head = ResNet18.headOf(block);
        try (NDManager m = NDManager.newBaseManager(classifier.device())) {
            NDArray x = m.create(FloatBuffer.wrap(image), new Shape(1, 3, size, size));
            ParameterStore ps = new ParameterStore(m, false);
            List<NDList> outs = backbone.stageOutputs(ps, new NDList(x), false);
            // A detached copy makes the layer4 activations a leaf of the graph: backward then stops
            // there instead of running through (and accumulating gradients into) the backbone.
            NDArray a = outs.get(outs.size() - 1).singletonOrThrow().stopGradient();
            Shape s = a.getShape();
            int k = (int) s.get(1);
            int h = (int) s.get(2);
            int w = (int) s.get(3);
            float[] logits;
            float[] grads;
            int target;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                a.setRequiresGradient(true);
                NDArray out = head.forward(ps, pooling.forward(ps, new NDList(a), false), false).singletonOrThrow();
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
            return new Result(cam, h, w, target, logits, softmax(logits), acts, grads, k);
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
     * Bilinear resampling with pixel centres aligned (PyTorch's align_corners=false), so each layer4
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
