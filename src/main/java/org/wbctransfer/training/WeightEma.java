package org.wbctransfer.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An exponential moving average of a block's weights, updated after every optimizer step:
 * avg = d avg + (1 - d) w, with the warm-up of TensorFlow's ExponentialMovingAverage (timm's
 * ModelEma before V3) d = min(decay, (1 + t) / (10 + t)), t the updates before this one, so that
 * the average is not held at the initial weights for the first thousands of steps. Every parameter
 * is averaged, BatchNorm running statistics included, as timm's ModelEmaV2 averages the buffers
 * with the weights: statistics copied from the last step would belong to other weights than the
 * averaged ones. The arithmetic runs in libtorch on arrays of a sub-manager of the model's,
 * closed with this object.
 */
final class WeightEma implements TrainingListener, AutoCloseable {

    private final NDManager manager;
    private final double decay;
    private final List<Parameter> parameters = new ArrayList<>();
    /** By parameter name, in the block's order: what a checkpoint keys them by (ids are per process). */
    private final Map<String, NDArray> averages = new LinkedHashMap<>();
    private int updates;

    /** Starts the average at the block's current weights. */
    WeightEma(Block block, double decay, NDManager parent) {
        this.decay = decay;
        this.manager = parent.newSubManager();
        for (Pair<String, Parameter> p : block.getParameters()) {
            parameters.add(p.getValue());
            NDArray a = p.getValue().getArray().duplicate();
            a.attach(manager);
            averages.put(p.getKey(), a);
        }
    }

    /** The decay the next update uses. */
    double nextDecay() {
        return Math.min(decay, (1.0 + updates) / (10.0 + updates));
    }

    void update() {
        float d = (float) nextDecay();
        int i = 0;
        for (NDArray avg : averages.values()) {
            // avg - (1 - d)(avg - w): in place, one temporary per array.
            try (NDArray diff = avg.sub(parameters.get(i++).getArray())) {
                avg.subi(diff.muli(1 - d));
            }
        }
        updates++;
    }

    @Override
    public void onBatchEnd(TrainingRun run, int epoch, int batch, int images, double meanLoss, double accuracy) {
        update();
    }

    /**
     * Exchanges the block's weights and the averages, in place (a parameter's array cannot be
     * replaced): once to validate or save the average, once more to go on training.
     */
    void swap() {
        int i = 0;
        for (NDArray avg : averages.values()) {
            NDArray w = parameters.get(i++).getArray();
            try (NDArray raw = w.duplicate()) {
                w.set(new NDIndex("..."), avg);
                avg.set(new NDIndex("..."), raw);
            }
        }
    }

    int updates() {
        return updates;
    }

    Map<String, NDArray> averages() {
        return Collections.unmodifiableMap(averages);
    }

    /** Sets the state a checkpoint saved; the arrays are copied. */
    void restore(int savedUpdates, Map<String, NDArray> saved) {
        if (!saved.keySet().equals(averages.keySet())) {
            throw new IllegalArgumentException("the weight average's parameters do not match the network's");
        }
        saved.forEach((name, a) -> averages.get(name).set(new NDIndex("..."), a));
        updates = savedUpdates;
    }

    @Override
    public void close() {
        manager.close();
    }
}
