package org.wbctransfer.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.loss.Loss;

/**
 * Softmax cross-entropy with per-class weights, averaged as PyTorch's
 * {@code CrossEntropyLoss(weight=w)} does: sum_i w[y_i] * nll_i / sum_i w[y_i]. DJL's
 * {@code SoftmaxCrossEntropyLoss} takes no class weights.
 */
public final class WeightedCrossEntropy extends Loss {

    private final float[] classWeights;

    public WeightedCrossEntropy(float[] classWeights) {
        super("WeightedCrossEntropy");
        this.classWeights = classWeights.clone();
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
        NDArray logits = predictions.singletonOrThrow();
        NDArray y = labels.singletonOrThrow();
        int k = classWeights.length;
        NDArray oneHot = y.toType(ai.djl.ndarray.types.DataType.INT64, false).oneHot(k);
        NDArray w = logits.getManager().create(classWeights);
        NDArray nll = logits.logSoftmax(1).mul(oneHot).sum(new int[] {1}).neg();
        NDArray wy = oneHot.mul(w).sum(new int[] {1});
        return nll.mul(wy).sum().div(wy.sum());
    }
}
