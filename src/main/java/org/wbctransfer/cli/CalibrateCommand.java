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
import org.wbctransfer.evaluation.TemperatureScaling;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.training.WbcTrainer;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code wbc calibrate}: temperature scaling of a finished run, fitted on its validation carve-out.
 * The test split is not read again: the calibration of the test predictions before and after is
 * computed from the {@code predictions.csv} its one test evaluation saved.
 */
@Command(name = "calibrate", mixinStandardHelpOptions = true,
        description = "Fit a softmax temperature on a finished run's validation carve-out (never the test split) and"
                + " store it in the model's metadata.json, where evaluate, predict, serve and export read it. Prints and"
                + " writes (eval-test/temperature.json) the expected calibration error, Brier score and NLL of the"
                + " run's saved test predictions before and after, without reading the test images again.")
public final class CalibrateCommand implements Callable<Integer> {

    static final String RECORD = "temperature.json";

    @Parameters(index = "0", description = "Run directory (from 'wbc train' or a grid)")
    Path run;

    @picocli.CommandLine.Option(names = "--force", description = "Refit a run that already has a temperature (its test"
            + " predictions were saved at temperature 1 by the run's one test evaluation)")
    boolean force;

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
        try (Classifier c = Classifier.load(dir.model())) {
            if (c.metadata().temperature() != null && !force) {
                throw new UserException(run + ": already calibrated (temperature " + c.metadata().temperature()
                        + "); --force refits it");
            }
            // Validation probabilities at temperature 1, whatever the model carries now.
            Classifier raw = c.withMetadata(c.metadata().withTemperature(null));
            SplitData data = SplitData.open(Path.of(cfg.dataRoot()), manifest, cfg.imageSize(), Path.of(cfg.cacheDir()));
            List<String> skipped = new ArrayList<>();
            List<BatchLoader.Sample> val = data.samples(part.validation(), skipped);
            Evaluation.Result v = Evaluation.run(raw, data.cache(), val, false);
            double t = TemperatureScaling.fit(v.probabilities(), 1.0, v.truth());

            Evaluation.Saved test = Evaluation.readPredictions(dir.testEval().resolve(Evaluation.PREDICTIONS),
                    c.metadata().classes());
            Calibration before = Calibration.of(test.probabilities(), test.truth());
            float[][] scaled = TemperatureScaling.rescale(test.probabilities(), 1.0, t);
            Calibration after = Calibration.of(scaled, test.truth());
            org.wbctransfer.evaluation.Selective selBefore = org.wbctransfer.evaluation.Selective.of(test.probabilities(), test.truth());
            org.wbctransfer.evaluation.Selective selAfter = org.wbctransfer.evaluation.Selective.of(scaled, test.truth());
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
            Json.write(metaFile, raw.metadata().withTemperature(t));
            System.out.printf(Locale.ROOT, "temperature %.4f fitted on %d validation images%n", t, val.size());
            System.out.println("test split, before: " + before.line());
            System.out.println("test split, after:  " + after.line());
            System.out.println("test split, after:  " + selAfter.line());
            System.out.println("written: " + metaFile + ", " + dir.testEval().resolve(RECORD));
        }
        return 0;
    }

    private static Map<String, Object> summary(Calibration c, org.wbctransfer.evaluation.Selective s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ece", c.ece());
        m.put("brier", c.brier());
        m.put("nll", c.nll());
        m.put("accuracyAtCoverage", s.accuracyAtCoverage());
        m.put("coverageAtAccuracy", s.coverageAtAccuracy());
        return m;
    }
}
