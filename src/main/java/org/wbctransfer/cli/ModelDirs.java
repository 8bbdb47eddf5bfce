package org.wbctransfer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.util.UserException;

/**
 * Finds the model of a path given on the command line: a bundle (from 'wbc export', or a run's
 * {@code model/}) or a run directory. Every command that uses a model goes through here so that
 * they all accept the same paths and fail with the same one-line messages. Also deletes the
 * folders that export and train replace or abandon.
 */
final class ModelDirs {

    private ModelDirs() {}

    /** The directory holding metadata.json and weights.params. */
    static Path resolve(Path path) {
        if (!Files.exists(path)) {
            throw new UserException(path + ": model not found (expected a bundle from 'wbc export' or a run directory)");
        }
        if (!Files.isDirectory(path)) {
            throw new UserException(path + ": not a model bundle (expected a folder with " + Classifier.METADATA
                    + " and " + Classifier.WEIGHTS + ")");
        }
        if (isBundle(path)) {
            return path;
        }
        Path inRun = RunDir.of(path).model();
        if (isBundle(inRun)) {
            return inRun;
        }
        throw new UserException(path + ": not a model bundle or run directory (no " + Classifier.METADATA + " in it or in "
                + RunDir.MODEL + "/)");
    }

    static boolean isBundle(Path dir) {
        return Files.isRegularFile(dir.resolve(Classifier.METADATA));
    }

    /** Loads the model; the caller closes it. */
    static Classifier load(Path path) {
        return Classifier.load(resolve(path));
    }
}
