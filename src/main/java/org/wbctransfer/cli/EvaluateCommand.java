package org.wbctransfer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.SplitManifest;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.training.WbcTrainer;
import org.wbctransfer.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code wbc evaluate}: metrics of a trained model on its test split or on any labelled folder. */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = "Evaluate a model (run directory or model directory) on the test split of its manifest, or on"
                + " another class-per-folder test set whose class names match (case-insensitively). Images that cannot"
                + " be read and class folders the model does not know are skipped with a warning and listed in"
                + " skipped.txt in the output folder (--strict: an error).")
public final class EvaluateCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "Run directory (from 'wbc train') or model bundle ('wbc export')")
    Path model;

    @Option(names = "--folder", description = "Evaluate on this class-per-folder dataset instead of the test split")
    Path folder;

    @Option(names = {"-o", "--out"}, description = "Output folder. Default: <run>/eval-<folder name> with --folder;"
            + " <run>/eval-test for the test split; for a bundle, beside it: <bundle>-eval-test, <bundle>-eval-<folder name>")
    Path out;

    @Option(names = "--validation", description = "Evaluate on the run's validation carve-out (the images its epoch"
            + " was chosen on) instead of the test split; no test image is read. For decisions made before the test"
            + " run, such as --tta. Reports go to eval-validation / eval-validation-tta.")
    boolean validation;

    @Option(names = "--tta", description = "Test-time augmentation: average the eight flips and right-angle"
            + " rotations of each image (8x slower). Reports go to eval-test-tta / eval-<folder>-tta.")
    boolean tta;

    @Option(names = "--adapt-bn", description = "Test-time BatchNorm adaptation: re-estimate the BatchNorm statistics"
            + " on the --folder images (no labels used) before predicting them, for images from another microscope."
            + " Reports go to eval-<folder>-adapt-bn.")
    boolean adaptBn;

    @Option(names = "--min-confidence", description = "Also report what this confidence floor does: how many images"
            + " would be answered rather than referred, and the accuracy among the answered")
    Double minConfidence;

    @Mixin
    CacheOption cacheOption;

    @Mixin
    StrictOption strictOption;

    @Mixin
    EngineOption engineOption = new EngineOption();

    @Override
    public Integer call() throws Exception {
        if (minConfidence != null && !(minConfidence > 0 && minConfidence < 1)) {
            throw new UserException("--min-confidence must be between 0 and 1 (exclusive), got " + minConfidence);
        }
        Path modelDir = ModelDirs.resolve(model);
        // A bundle is not a run directory: its test metrics are already in its metadata, and it may
        // be shared or read-only, so reports go beside it and its own files are never rewritten.
        boolean bundle = modelDir.equals(model);
        Path base = model;
        try (Classifier c = Classifier.load(modelDir)) {
            engineOption.apply(c, modelDir, adaptBn ? "--adapt-bn" : null);
            if (validation && folder != null) {
                throw new UserException("--validation and --folder exclude each other");
            }
            if (folder == null) {
                if (adaptBn) {
                    throw new UserException("--adapt-bn needs --folder (the target images to adapt to)");
                }
                // A run's config.json holds the absolute paths; a model's metadata records them
                // relative to where training ran (so a bundle works from the same folder).
                TrainConfig cfg = !bundle && Files.isRegularFile(RunDir.of(base).config())
                        ? RunDir.of(base).resumeConfig() : c.metadata().training();
                if (cfg == null) {
                    throw new UserException(modelDir + ": model records no training split; use --folder");
                }
                if (validation) {
                    var carveOut = WbcTrainer.partition(SplitManifest.read(Path.of(cfg.manifest())), cfg.subset(),
                            cfg.valPercent(), cfg.minValSubset(), cfg.seed()).validation();
                    if (carveOut.isEmpty()) {
                        throw new UserException(modelDir + ": trained without a validation carve-out ("
                                + (cfg.refit() != null ? "a refit on the whole budget" : cfg.subset() + " is too small")
                                + "); nothing to evaluate with --validation");
                    }
                    String name = RunDir.EVAL_PREFIX + "validation" + (tta ? "-tta" : "");
                    Path o = out != null ? out : bundle ? beside(model, "-" + name) : base.resolve(name);
                    print(Evaluation.validationTo(c, cfg, carveOut, o, strictOption.strict, tta), o);
                    return 0;
                }
                if (!bundle && !tta) {
                    print(Evaluation.testSplit(c, cfg, base, strictOption.strict),
                            RunDir.of(base).testEval());
                    return 0;
                }
                String name = RunDir.TEST_EVAL + (tta ? "-tta" : "");
                Path o = out != null ? out : bundle ? beside(model, "-" + name) : base.resolve(name);
                print(Evaluation.testSplitTo(c, cfg, o, strictOption.strict, tta), o);
                return 0;
            }
            String name = RunDir.EVAL_PREFIX + folder.toAbsolutePath().normalize().getFileName()
                    + (tta ? "-tta" : "") + (adaptBn ? "-adapt-bn" : "");
            Path o = out != null ? out : bundle ? beside(model, "-" + name) : base.resolve(name);
            print(Evaluation.folder(c, folder, o, cacheOption.dir, strictOption.strict, tta,
                    adaptBn, StrictOption::warn), o);
        }
        return 0;
    }

    private void print(Evaluation.Result r, Path written) {
        TrainCommand.printEvaluation(r, written);
        if (minConfidence != null) {
            System.out.println(org.wbctransfer.evaluation.Selective.atFloor(r.probabilities(), r.truth(), minConfidence));
        }
    }

    /** A folder next to the bundle, named after it: {@code bundles/tiny} gives {@code bundles/tiny<suffix>}. */
    private static Path beside(Path bundle, String suffix) {
        Path abs = bundle.toAbsolutePath().normalize();
        return abs.resolveSibling(abs.getFileName() + suffix);
    }
}
