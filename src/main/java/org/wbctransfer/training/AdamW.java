package org.wbctransfer.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.ParameterTracker;
import java.util.HashMap;
import java.util.Map;

/**
 * AdamW (decoupled weight decay, as torch.optim.AdamW) on PyTorch's fused update kernel. Unlike
 * DJL's own AdamW, its state (moments and step counts) can be saved and restored, so that a
 * resumed run continues exactly where the interrupted one stopped.
 */
public final class AdamW extends Optimizer {

    /** Per-parameter optimizer state. */
    public static final class State {
        int step;
        NDArray mean;
        NDArray variance;
    }

    private static final float BETA1 = 0.9f;
    private static final float BETA2 = 0.999f;
    private static final float EPSILON = 1e-8f;
    private final ParameterTracker learningRate;
    private final Map<String, State> states = new HashMap<>();

    private AdamW(Builder b) {
        super(b);
        this.learningRate = b.learningRate;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void update(String parameterId, NDArray weight, NDArray grad) {
        State s = states.computeIfAbsent(parameterId, k -> new State());
        if (s.mean == null) {
            s.mean = weight.zerosLike();
            s.variance = weight.zerosLike();
        }
        int t = ++s.step;
        float lr = learningRate.getNewValue(parameterId, t);
        double coef1 = 1.0 - Math.pow(BETA1, t);
        double coef2 = 1.0 - Math.pow(BETA2, t);
        float lrBiasCorrected = (float) (lr * Math.sqrt(coef2) / coef1);
        float wd = getWeightDecay();
        if (!Float.isFinite(lr) || !Float.isFinite(wd)) {
            throw new IllegalStateException("learning rate or weight decay is not finite: " + lr + ", " + wd);
        }
        weight.getNDArrayInternal().adamUpdate(
                new NDList(weight, grad, s.mean, s.variance),
                new NDList(weight),
                lr, lrBiasCorrected, wd, rescaleGrad, clipGrad, BETA1, BETA2, EPSILON,
                true, true);
    }

    /** The state of every parameter updated so far, by parameter id. */
    public Map<String, State> states() {
        return states;
    }

    /** Restores one parameter's state (arrays are copied into the given manager). */
    public void restore(String parameterId, int step, NDArray mean, NDArray variance, NDManager manager) {
        State s = new State();
        s.step = step;
        s.mean = mean.duplicate();
        s.mean.attach(manager);
        s.variance = variance.duplicate();
        s.variance.attach(manager);
        states.put(parameterId, s);
    }

    /** Builder: {@code optLearningRateTracker} and {@code optWeightDecays} as DJL's optimizers. */
    public static final class Builder extends OptimizerBuilder<Builder> {
        private ParameterTracker learningRate = ai.djl.training.tracker.Tracker.fixed(1e-3f);

        Builder() {
            optWeightDecays(0.05f);
        }

        @Override
        protected Builder self() {
            return this;
        }

        public Builder optLearningRateTracker(ParameterTracker tracker) {
            this.learningRate = tracker;
            return this;
        }

        public AdamW build() {
            return new AdamW(this);
        }
    }
}
