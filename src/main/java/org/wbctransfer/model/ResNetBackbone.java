package org.wbctransfer.model;

import ai.djl.ndarray.NDList;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;

/**
 * The ResNet-18 backbone: stem, layer1..layer4, global pooling. It can freeze its first k
 * stages for fine-tuning: their weights stop receiving gradients and their BatchNorm layers run
 * in inference mode (running statistics used and left unchanged), which a plain
 * {@code freezeParameters} does not do. Stays a {@link SequentialBlock} so saved parameters keep
 * the same layout.
 */
public final class ResNetBackbone extends SequentialBlock {

    private int frozenStages;

    /** Freezes stages [0, k) and unfreezes the rest; k = 0 trains everything. */
    public void setFrozenStages(int k) {
        List<Block> stages = new ArrayList<>(getChildren().values());
        if (k < 0 || k > stages.size()) {
            throw new IllegalArgumentException("frozen stages must be 0.." + stages.size() + ", got " + k);
        }
        for (int i = 0; i < stages.size(); i++) {
            // Unfreezing must not make BatchNorm running statistics trainable (DJL's
            // freezeParameters(false) would), hence the predicate.
            stages.get(i).freezeParameters(i < k, p -> p.getType() != Parameter.Type.RUNNING_MEAN
                    && p.getType() != Parameter.Type.RUNNING_VAR);
        }
        frozenStages = k;
    }

    public int frozenStages() {
        return frozenStages;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDList x = inputs;
        int i = 0;
        for (Block stage : getChildren().values()) {
            x = stage.forward(ps, x, training && i >= frozenStages, params);
            i++;
        }
        return x;
    }

    /**
     * Outputs of stem and layer1..layer4 (strides 4, 4, 8, 16, 32), for decoders that need
     * spatial features (segmentation, reconstruction).
     */
    public List<NDList> stageOutputs(ParameterStore ps, NDList inputs, boolean training) {
        List<NDList> out = new ArrayList<>();
        NDList x = inputs;
        List<Block> stages = new ArrayList<>(getChildren().values());
        for (int i = 0; i < stages.size() - 1; i++) {
            x = stages.get(i).forward(ps, x, training && i >= frozenStages, null);
            out.add(x);
        }
        return out;
    }
}
