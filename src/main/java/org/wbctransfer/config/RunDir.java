package org.wbctransfer.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;

/**
 * A training run's folder, the one place its layout is spelled:
 * <pre>
 *   config.json        the resolved configuration (what --resume reads)
 *   provenance.json    split, manifest hash, images per class, library versions
 *   summary.csv        one row per epoch
 *   checkpoints/       last.ckpt (every epoch) and best.ckpt (best validation epoch)
 *   model/             the trained model bundle
 *   eval-test/         the one evaluation on the split's test images
 *   eval-&lt;name&gt;/       evaluations on other folders (outside test sets, test-time augmentation)
 * </pre>
 * Pre-training stages keep their own {@code summary.csv} under the same name.
 */
public record RunDir(Path root) {

    public static final String CONFIG = "config.json";
    public static final String PROVENANCE = "provenance.json";
    public static final String SUMMARY = "summary.csv";
    public static final String CHECKPOINTS = "checkpoints";
    public static final String MODEL = "model";
    public static final String EVAL_PREFIX = "eval-";
    public static final String TEST_EVAL = EVAL_PREFIX + "test";
    /** The files an evaluation folder holds. */
    public static final String METRICS = "metrics.json";
    public static final String CONFUSION = "confusion.png";

    /** Where a run stands, as its files say. */
    public enum State {
        /** Nothing to continue: no checkpoint yet. */
        FRESH,
        /** A last checkpoint and its configuration: --resume continues from it. */
        RESUMABLE,
        /** Tested: the test evaluation's metrics exist. */
        FINISHED
    }

    public RunDir {
        Objects.requireNonNull(root, "root");
    }

    public static RunDir of(Path root) {
        return new RunDir(root);
    }

    public State state() {
        if (Files.isRegularFile(testMetrics())) {
            return State.FINISHED;
        }
        return Files.isRegularFile(last()) && Files.isRegularFile(config()) ? State.RESUMABLE : State.FRESH;
    }

    /** The configuration a resumed run continues with; one line naming the folder when there is none. */
    public TrainConfig resumeConfig() {
        if (!Files.isRegularFile(config())) {
            throw new UserException(root + ": nothing to resume (no " + CONFIG + ")");
        }
        return Json.read(config(), TrainConfig.class);
    }

    /** Refuses a folder that already holds a run, so that nothing is trained over it. */
    public void requireNoRun() {
        if (Files.exists(last())) {
            throw new UserException(root + ": run directory already holds a run; use --resume or another --run-dir");
        }
    }

    public Path config() {
        return root.resolve(CONFIG);
    }

    public Path provenance() {
        return root.resolve(PROVENANCE);
    }

    public Path summary() {
        return root.resolve(SUMMARY);
    }

    public Path checkpoints() {
        return root.resolve(CHECKPOINTS);
    }

    public Path last() {
        return checkpoints().resolve("last.ckpt");
    }

    public Path best() {
        return checkpoints().resolve("best.ckpt");
    }

    public Path model() {
        return root.resolve(MODEL);
    }

    public Path testEval() {
        return root.resolve(TEST_EVAL);
    }

    public Path testMetrics() {
        return testEval().resolve(METRICS);
    }

    /** The folder of an evaluation named {@code name} ({@code test}, {@code test-tta}, an outside set). */
    public Path eval(String name) {
        return root.resolve(EVAL_PREFIX + name);
    }
}
