package org.wbctransfer.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.ImageCache;
import org.wbctransfer.data.ImageFolder;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.evaluation.EvaluationReport;
import org.wbctransfer.model.Classifier;
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

    @Option(names = "--tta", description = "Test-time augmentation: average the eight flips and right-angle"
            + " rotations of each image (8x slower). Reports go to eval-test-tta / eval-<folder>-tta.")
    boolean tta;

    @Mixin
    CacheOption cacheOption;

    @Mixin
    StrictOption strictOption;

    @Override
    public Integer call() throws Exception {
        Path modelDir = ModelDirs.resolve(model);
        // A bundle is not a run directory: its test metrics are already in its metadata, and it may
        // be shared or read-only, so reports go beside it and its own files are never rewritten.
        boolean bundle = modelDir.equals(model);
        Path base = model;
        try (Classifier c = Classifier.load(modelDir)) {
            if (folder == null) {
                TrainConfig cfg = c.metadata().training();
                if (cfg == null) {
                    throw new UserException(modelDir + ": model records no training split; use --folder");
                }
                if (!bundle && !tta) {
                    TrainCommand.printTest(Evaluation.testSplit(c, cfg, base, strictOption.strict), base);
                    return 0;
                }
                String name = RunDir.TEST_EVAL + (tta ? "-tta" : "");
                Path o = out != null ? out : bundle ? beside(model, "-" + name) : base.resolve(name);
                Evaluation.Result r = Evaluation.testSplitTo(c, cfg, o, strictOption.strict, tta);
                System.out.println(EvaluationReport.toText(r.metrics(), r.title()));
                System.out.println("evaluation written to " + o);
                return 0;
            }
            boolean strict = strictOption.strict;
            ImageFolder f = ImageFolder.scan(folder, strict);
            f.warnings().forEach(StrictOption::warn);
            List<String> skipped = new ArrayList<>();
            f.skipped().forEach(s -> skipped.add(folder.resolve(s.relativePath()) + ": " + s.problem()));
            List<String> classes = c.metadata().classes();
            List<String> paths = new ArrayList<>();
            List<Integer> labels = new ArrayList<>();
            for (String cls : f.classNames()) {
                if (indexIgnoreCase(classes, cls) < 0) {
                    long n = f.items().stream().filter(it -> it.className().equals(cls)).count();
                    String problem = "class '" + cls + "' is not one of the model's classes " + classes;
                    if (strict) {
                        throw new UserException(folder.resolve(cls) + ": " + problem);
                    }
                    StrictOption.warn(folder.resolve(cls) + ": " + problem + "; its " + n + " image(s) skipped");
                }
            }
            for (ImageFolder.Item it : f.items()) {
                int label = indexIgnoreCase(classes, it.className());
                if (label < 0) {
                    skipped.add(folder.resolve(it.relativePath()) + ": class '" + it.className() + "' unknown to the model");
                    continue;
                }
                paths.add(it.relativePath());
                labels.add(label);
            }
            if (paths.isEmpty()) {
                throw new UserException(folder + ": none of the class folders " + f.classNames()
                        + " is one of the model's classes " + classes);
            }
            ImageCache cache = ImageCache.open(folder, paths, c.metadata().imageSize(), cacheOption.dir);
            List<BatchLoader.Sample> samples = new ArrayList<>();
            for (int i = 0; i < paths.size(); i++) {
                if (cache.pixels(i) == null) {
                    String line = folder.resolve(paths.get(i)) + ": " + cache.problem(i);
                    if (strict) {
                        throw new UserException(line);
                    }
                    StrictOption.warn(line + "; skipped");
                    skipped.add(line);
                } else {
                    samples.add(new BatchLoader.Sample(i, labels.get(i)));
                }
            }
            if (samples.isEmpty()) {
                throw new UserException(folder + ": no readable images to evaluate");
            }
            Evaluation.Result r = Evaluation.run(c, cache, samples, tta);
            String name = RunDir.EVAL_PREFIX + folder.toAbsolutePath().normalize().getFileName() + (tta ? "-tta" : "");
            Path o = out != null ? out : bundle ? beside(model, "-" + name) : base.resolve(name);
            String title = "ResNet-18 on " + folder + " (" + samples.size() + " images"
                    + (tta ? ", 8-view test-time augmentation" : "")
                    + (skipped.isEmpty() ? "" : ", " + skipped.size() + " file(s) skipped") + ")";
            Evaluation.write(r, Evaluation.paths(cache, samples), skipped, o, title);
            System.out.println(EvaluationReport.toText(r.metrics(), title));
            System.out.println("evaluation written to " + o);
        }
        return 0;
    }

    /** A folder next to the bundle, named after it: {@code bundles/tiny} gives {@code bundles/tiny<suffix>}. */
    private static Path beside(Path bundle, String suffix) {
        Path abs = bundle.toAbsolutePath().normalize();
        return abs.resolveSibling(abs.getFileName() + suffix);
    }

    private static int indexIgnoreCase(List<String> classes, String name) {
        for (int i = 0; i < classes.size(); i++) {
            if (classes.get(i).toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) {
                return i;
            }
        }
        return -1;
    }
}
