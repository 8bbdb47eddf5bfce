package org.wbctransfer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.SplitData;
import org.wbctransfer.data.SplitManifest;
import org.wbctransfer.evaluation.Calibration;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.evaluation.OodFit;
import org.wbctransfer.evaluation.Selective;
import org.wbctransfer.model.ModelMetadata;
import org.wbctransfer.model.OodDetector;
import org.wbctransfer.evaluation.TemperatureScaling;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.training.WbcTrainer;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code wbc calibrate}: temperature scaling and the out-of-distribution score of a finished run,
 * fitted on its training images and validation carve-out.
 * The test split is not read again: the calibration of the test predictions before and after is
 * computed from the {@code predictions.csv} its one test evaluation saved.
 */
@Command(name = "calibrate", mixinStandardHelpOptions = true,
        description = "Fit what a finished run's model lacks, never on the test split, and store it in the model's"
                + " metadata.json, where evaluate, predict, serve and export read it: a softmax temperature fitted on the"
                + " validation carve-out, and an out-of-distribution score (class statistics of the training images,"
                + " threshold at the 99th percentile of the validation carve-out). For the temperature it prints and"
                + " writes (eval-test/temperature.json) the expected calibration error, Brier score and NLL of the"
                + " run's saved test predictions before and after, without reading the test images again.")
public final class CalibrateCommand implements Callable<Integer> {

    static final String RECORD = "temperature.json";

    @Parameters(index = "0", description = "Run directory (from 'wbc train' or a grid)")
    Path run;

    @picocli.CommandLine.Option(names = "--force", description = "Refit a run that already has a temperature (its test"
            + " predictions were saved at temperature 1 by the run's one test evaluation)")
    boolean force;

    @picocli.CommandLine.Option(names = "--ood-score", description = "Out-of-distribution score to fit: mahalanobis"
            + " (default), energy or msp; refits the score even when one is set")
    String oodScore;

    @Override
    public Integer call() throws Exception {
        RunDir dir = RunDir.of(run);
        if (!Files.isRegularFile(dir.config()) || !Files.isRegularFile(dir.testEval().resolve(Evaluation.PREDICTIONS))) {
            throw new UserException(run + ": not a finished run (needs config.json and eval-test/predictions.csv)");
        }
        TrainConfig cfg = Json.read(dir.config(), TrainConfig.class);
        SplitManifest manifest = SplitManifest.read(Path.of(cfg.manifest()));
        WbcTrainer.Partition part = WbcTrainer.partition(manifest, cfg.subset(), cfg.valPercent(), cfg.minValSubset(),
                cfg.seed());
        if (part.validation().isEmpty()) {
            throw new UserException(run + ": " + cfg.subset() + " has no validation carve-out (" + part.selection()
                    + "), so there are no held-out labelled images to fit a temperature on; none is set");
        }
        Path metaFile = dir.model().resolve(Classifier.METADATA);
        try (Classifier loaded = Classifier.load(dir.model())) {
            ModelMetadata md0 = loaded.metadata();
            boolean fitTemperature = md0.temperature() == null || force;
            boolean fitOod = md0.ood() == null || force || oodScore != null;
            if (!fitTemperature && !fitOod) {
                throw new UserException(run + ": already calibrated (temperature " + md0.temperature()
                        + ", out-of-distribution score " + md0.ood().score() + "); --force refits both");
            }
            // Validation probabilities at temperature 1, whatever the model carries now.
            Classifier raw = loaded.withMetadata(md0.withTemperature(null));
            SplitData data = SplitData.open(Path.of(cfg.dataRoot()), manifest, cfg.imageSize(), loaded.framing(),
                    Path.of(cfg.cacheDir()));
            List<String> skipped = new ArrayList<>();
            List<BatchLoader.Sample> val = data.samples(part.validation(), skipped);
            ModelMetadata.Ood ood = md0.ood();
            List<BatchLoader.Sample> train = fitOod ? data.samples(part.train(), skipped) : List.of();
            if (fitOod) {
                raw = raw.withDetector(OodFit.detector(raw, data.cache(), train));
            }
            Evaluation.Result v = Evaluation.run(raw, data.cache(), val, false);
            if (fitOod) {
                OodDetector.Score kind = oodScore == null ? OodFit.DEFAULT_SCORE : OodDetector.Score.of(oodScore);
                double[] held = v.scores()[kind.ordinal()];
                ood = OodFit.block(kind, held, "class statistics: " + train.size() + " training images of " + part.selection()
                        + "; threshold: validation carve-out", train.size());
                System.out.printf(Locale.ROOT, "out-of-distribution score %s: threshold %.4g (the %.0fth percentile of %d"
                        + " validation images)%n", kind.key(), ood.threshold(), ood.percentile(), held.length);
            }
            Double t = md0.temperature();
            if (fitTemperature) {
                t = TemperatureScaling.fit(v.probabilities(), 1.0, v.truth());
                Evaluation.Saved test = Evaluation.readPredictions(dir.testEval().resolve(Evaluation.PREDICTIONS));
                Calibration before = Calibration.of(test.probabilities(), test.truth());
                float[][] scaled = TemperatureScaling.rescale(test.probabilities(), 1.0, t);
                Calibration after = Calibration.of(scaled, test.truth());
                Selective selBefore = Selective.of(test.probabilities(), test.truth());
                Selective selAfter = Selective.of(scaled, test.truth());
                Map<String, Object> record = new LinkedHashMap<>();
                record.put("temperature", t);
                record.put("fittedOn", "validation carve-out: " + part.selection());
                record.put("validationImages", val.size());
                record.put("validationNllBefore", TemperatureScaling.nll(v.probabilities(), 1.0, v.truth(), 1.0));
                record.put("validationNllAfter", TemperatureScaling.nll(v.probabilities(), 1.0, v.truth(), t));
                record.put("testImages", test.truth().length);
                record.put("testBefore", summary(before, selBefore));
                record.put("testAfter", summary(after, selAfter));
                Json.write(dir.testEval().resolve(RECORD), record);
                System.out.printf(Locale.ROOT, "temperature %.4f fitted on %d validation images%n", t, val.size());
                System.out.println("test split, before: " + before.line());
                System.out.println("test split, after:  " + after.line());
                System.out.println("test split, after:  " + selAfter.line());
            }
            Classifier done = raw.withMetadata(md0.withTemperature(t).withOod(ood)
                    .withValidationConfusion(v.metrics().confusionMatrix().counts()));
            if (fitOod && done.detector() != null && ood.file() != null) {
                done.detector().save(dir.model().resolve(OodDetector.FILE));
            }
            Json.write(metaFile, done.metadata());
            System.out.println("written: " + metaFile + (fitTemperature ? ", " + dir.testEval().resolve(RECORD) : ""));
        }
        return 0;
    }

    private static Map<String, Object> summary(Calibration c, Selective s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ece", c.ece());
        m.put("brier", c.brier());
        m.put("nll", c.nll());
        m.put("accuracyAtCoverage", s.accuracyAtCoverage());
        m.put("coverageAtAccuracy", s.coverageAtAccuracy());
        return m;
    }
}
