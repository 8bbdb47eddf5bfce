package org.wbctransfer.training;

import java.nio.file.Path;
import java.util.List;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.Normalization;

/** The observable state of a run in progress, handed to listeners. */
public final class TrainingRun {

    private final TrainConfig config;
    private final Path runDir;
    private final List<String> classNames;
    private final int trainImages;
    private final int valImages;
    private final String selection;
    private final Normalization normalization;
    private final int batchesPerEpoch;
    int bestEpoch = -1;
    double bestScore = Double.NEGATIVE_INFINITY;

    TrainingRun(TrainConfig config, Path runDir, List<String> classNames, int trainImages, int valImages,
            String selection, Normalization normalization, int batchesPerEpoch) {
        this.config = config;
        this.runDir = runDir;
        this.classNames = List.copyOf(classNames);
        this.trainImages = trainImages;
        this.valImages = valImages;
        this.selection = selection;
        this.normalization = normalization;
        this.batchesPerEpoch = batchesPerEpoch;
    }

    public TrainConfig config() {
        return config;
    }

    public Path runDir() {
        return runDir;
    }

    public List<String> classNames() {
        return classNames;
    }

    public int trainImages() {
        return trainImages;
    }

    public int valImages() {
        return valImages;
    }

    /** How the final model is chosen: by validation macro F1, or the last epoch of a fixed schedule. */
    public String selection() {
        return selection;
    }

    public Normalization normalization() {
        return normalization;
    }

    public int batchesPerEpoch() {
        return batchesPerEpoch;
    }

    public int bestEpoch() {
        return bestEpoch;
    }

    public double bestScore() {
        return bestScore;
    }
}
