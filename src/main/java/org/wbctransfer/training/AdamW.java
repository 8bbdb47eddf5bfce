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

    private final ParameterTracker learningRate;
    private final float beta1;
    private final float beta2;
    private final float epsilon;
    private final Map<String, State> states = new HashMap<>();

    private AdamW(Builder b) {
        super(b);
        this.learningRate = b.learningRate;
        this.beta1 = b.beta1;
        this.beta2 = b.beta2;
        this.epsilon = b.epsilon;
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
        double coef1 = 1.0 - Math.pow(beta1, t);
        double coef2 = 1.0 - Math.pow(beta2, t);
        float lrBiasCorrected = (float) (lr * Math.sqrt(coef2) / coef1);
        float wd = getWeightDecay();
        if (!Float.isFinite(lr) || !Float.isFinite(wd)) {
            throw new IllegalStateException("learning rate or weight decay is not finite: " + lr + ", " + wd);
        }
        weight.getNDArrayInternal().adamUpdate(
                new NDList(weight, grad, s.mean, s.variance),
                new NDList(weight),
                lr, lrBiasCorrected, wd, rescaleGrad, clipGrad, beta1, beta2, epsilon,
                true, true);
    }

    /** The state of every parameter updated so far, by parameter id. */
    public Map<String, State> states() {
        return states;
    }

    public static int step(State s) {
        return s.step;
    }

    public static NDArray mean(State s) {
        return s.mean;
    }

    public static NDArray variance(State s) {
        return s.variance;
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
        private float beta1 = 0.9f;
        private float beta2 = 0.999f;
        private float epsilon = 1e-8f;

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

        public Builder optBetas(float beta1, float beta2) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            return this;
        }

        public Builder optEpsilon(float epsilon) {
            this.epsilon = epsilon;
            return this;
        }

        public AdamW build() {
            return new AdamW(this);
        }
    }
}
