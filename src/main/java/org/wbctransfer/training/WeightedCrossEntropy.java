package org.wbctransfer.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.loss.Loss;

/**
 * Softmax cross-entropy with per-class weights, averaged as PyTorch's
 * {@code CrossEntropyLoss(weight=w)} does: sum_i w[y_i] * nll_i / sum_i w[y_i]. DJL's
 * {@code SoftmaxCrossEntropyLoss} takes no class weights. With label smoothing eps the target of
 * image i is (1 - eps) onehot(y_i) + eps / K and nll_i its cross-entropy, the whole of it
 * weighted by w[y_i], so that an image weighs what its class does (PyTorch's
 * {@code label_smoothing} instead weights the smoothing term's class k by w[k]).
 */
public final class WeightedCrossEntropy extends Loss {

    private final float[] classWeights;
    private final float smoothing;

    public WeightedCrossEntropy(float[] classWeights) {
        this(classWeights, 0);
    }

    public WeightedCrossEntropy(float[] classWeights, double labelSmoothing) {
        super("WeightedCrossEntropy");
        this.classWeights = classWeights.clone();
        this.smoothing = (float) labelSmoothing;
    }

    /** Weights n / (K * n_c): each class contributes equally to the loss whatever its size. */
    public static float[] balancedWeights(int[] countPerClass) {
        return balancedWeights(java.util.Arrays.stream(countPerClass).asLongStream().toArray());
    }

    /** {@link #balancedWeights(int[])} from counts that may pass 2^31, such as pixels. */
    public static float[] balancedWeights(long[] countPerClass) {
        long n = 0;
        int k = countPerClass.length;
        for (long c : countPerClass) {
            n += c;
        }
        float[] w = new float[k];
        for (int i = 0; i < k; i++) {
            w[i] = countPerClass[i] == 0 ? 0f : (float) ((double) n / ((double) k * countPerClass[i]));
        }
        return w;
    }

    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        return of(predictions.singletonOrThrow().logSoftmax(1), labels.singletonOrThrow());
    }

    /**
     * The loss of a batch mixed with a permutation of itself (mixup, CutMix): lambda loss(y_a) +
     * (1 - lambda) loss(y_b), each the weighted mean of {@link #evaluate}.
     */
    public NDArray mixed(NDArray logits, NDArray labelsA, NDArray labelsB, float lambda) {
        NDArray logP = logits.logSoftmax(1);
        return of(logP, labelsA).mul(lambda).add(of(logP, labelsB).mul(1 - lambda));
    }

    private NDArray of(NDArray logP, NDArray y) {
        int k = classWeights.length;
        NDArray oneHot = y.toType(ai.djl.ndarray.types.DataType.INT64, false).oneHot(k);
        NDArray w = logP.getManager().create(classWeights);
        // eps == 0 keeps the unsmoothed arithmetic, bit for bit what runs before smoothing existed computed.
        NDArray target = smoothing == 0 ? oneHot : oneHot.mul(1 - smoothing).add(smoothing / k);
        NDArray nll = logP.mul(target).sum(new int[] {1}).neg();
        NDArray wy = oneHot.mul(w).sum(new int[] {1});
        return nll.mul(wy).sum().div(wy.sum());
    }
}
