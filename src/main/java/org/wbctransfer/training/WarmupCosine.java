package org.wbctransfer.training;

import ai.djl.training.tracker.ParameterTracker;
import java.util.function.ToDoubleFunction;

/**
 * Linear warm-up to the peak learning rate, then cosine decay to {@code finalFraction} of it.
 * A per-parameter multiplier lets fine-tuning give the pre-trained backbone a lower rate than a
 * new head.
 */
public record WarmupCosine(double peak, int warmupSteps, int totalSteps, double finalFraction,
        ToDoubleFunction<String> multiplier) implements ParameterTracker {

    public WarmupCosine {
        warmupSteps = Math.max(0, warmupSteps);
        totalSteps = Math.max(1, totalSteps);
    }

    /** Learning rate at 1-based update number {@code step}, before any per-parameter multiplier. */
    public double at(int step) {
        if (step <= warmupSteps) {
            return peak * step / (double) warmupSteps;
        }
        double progress = Math.min(1.0, (step - warmupSteps) / (double) Math.max(1, totalSteps - warmupSteps));
        double floor = peak * finalFraction;
        return floor + (peak - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }

    @Override
    public float getNewValue(String parameterId, int numUpdate) {
        return (float) (at(numUpdate) * multiplier.applyAsDouble(parameterId));
    }
}
