package org.wbctransfer.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.OnnxExport;
import org.wbctransfer.model.OnnxInfo;
import org.wbctransfer.util.Hashing;
import org.wbctransfer.util.UserException;
import picocli.CommandLine.Option;

/**
 * {@code --engine onnx|torch}, shared by predict, evaluate and serve: which engine computes the
 * probabilities. Both read the same preprocessed images and apply the same temperature and softmax.
 * By default a bundle with a {@code model.onnx} made from its weights runs on ONNX Runtime (faster
 * on CPU: docs/BENCHMARKS.md, "ONNX Runtime"), anything else on libtorch.
 */
final class EngineOption {

    @Option(names = "--engine", paramLabel = "onnx|torch", description = "Inference engine: onnx (the bundle's"
            + " model.onnx on ONNX Runtime) or torch (the weights on libtorch). Default: onnx when the bundle has a"
            + " model.onnx made from its weights (from 'wbc export'), else torch")
    String engine;

    /**
     * Switches the classifier loaded from {@code modelDir} to the engine asked for or the default.
     *
     * @param torchOnly why this command needs the weights themselves (e.g. {@code "--adapt-bn"}), or null
     */
    Classifier apply(Classifier c, Path modelDir, String torchOnly) throws IOException {
        return resolve(modelDir, c.metadata().onnx(), torchOnly).equals("onnx") ? c.useOnnx(modelDir.resolve(OnnxExport.FILE)) : c;
    }

    /**
     * The engine asked for or the default, {@code "onnx"} or {@code "torch"}, from the bundle's files
     * alone (wbc spark decides on the driver and loads the model on the executors).
     *
     * @param torchOnly why this command needs the weights themselves (e.g. {@code "--adapt-bn"}), or null
     */
    String resolve(Path modelDir, OnnxInfo info, String torchOnly) throws IOException {
        String e = engine == null ? null : engine.trim().toLowerCase(Locale.ROOT);
        if (e != null && !e.equals("onnx") && !e.equals("torch")) {
            throw new UserException("--engine must be onnx or torch, got '" + engine + "'");
        }
        boolean explicit = "onnx".equals(e);
        if ("torch".equals(e) || (e == null && torchOnly != null)) {
            return "torch";
        }
        if (torchOnly != null) {
            throw new UserException(torchOnly + " changes the model's weights and needs --engine torch");
        }
        String why = unusable(modelDir, info);
        if (why != null) {
            if (explicit) {
                throw new UserException(modelDir + ": cannot use --engine onnx: " + why);
            }
            return "torch";
        }
        return "onnx";
    }

    /** Why the bundle's graph cannot stand in for its weights, or null when it can. */
    static String unusable(Path modelDir, OnnxInfo info) throws IOException {
        Path graph = modelDir.resolve(OnnxExport.FILE);
        if (!Files.isRegularFile(graph)) {
            return "no " + OnnxExport.FILE + " (export the model with 'wbc export')";
        }
        if (info == null || info.weightsSha256() == null) {
            return "metadata.json does not describe " + OnnxExport.FILE;
        }
        if (!info.weightsSha256().equals(Hashing.sha256(modelDir.resolve(Classifier.WEIGHTS)))) {
            return OnnxExport.FILE + " was made from other weights than " + Classifier.WEIGHTS + " (export again)";
        }
        return null;
    }
}
