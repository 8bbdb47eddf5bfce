package org.wbctransfer;

import java.nio.file.Path;
import java.util.List;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.training.WbcTrainer;

/** A deliberately under-trained model on real Raabin images, for tests of the model-use commands. */
public final class TinyModel {
    private TinyModel() {}

    /**
     * Trains on 8 images per class for 2 epochs and evaluates on 2 more per class, leaving a run
     * directory with model/ and eval-test/ like 'wbc train' does. At 64 px layer4 is 2x2, so
     * Grad-CAM maps have spatial structure.
     */
    public static Path train(Path dir) throws Exception {
        Path manifest = TestData.manifest(dir, 8, 2);
        TrainConfig cfg = TrainConfig.builder().setData(TestData.raabin(), manifest).setSubset("WBC_100").optImageSize(64)
                .optBatchSize(8).optEpochs(2).optWarmupEpochs(1.0).optSeed(5).optValidation(0, 1000)
                .optCacheDir(dir.resolve("cache")).build();
        Path run = dir.resolve("run");
        try (Classifier c = new WbcTrainer(cfg, List.of(), false, false).fit(run, false)) {
            Evaluation.testSplit(c, cfg, run, false);
        }
        return run;
    }
}
