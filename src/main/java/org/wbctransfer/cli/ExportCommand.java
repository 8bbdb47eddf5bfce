package org.wbctransfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.evaluation.ClassificationMetrics;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.evaluation.EvaluationReport;
import org.wbctransfer.model.CellCrop;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelMetadata;
import org.wbctransfer.model.OodDetector;
import org.wbctransfer.model.Preprocessing;
import org.wbctransfer.config.TrainConfig;
import java.util.List;
import org.wbctransfer.model.OnnxExport;
import org.wbctransfer.model.OnnxInfo;
import org.wbctransfer.util.Hashing;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;
import org.wbctransfer.util.Versions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code wbc export}: a run's model as a standalone bundle for predict, explain, evaluate and --init users. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Copy a run's model (weights.params + metadata.json) into a standalone bundle folder, adding"
                + " the run's test metrics, the preprocessing and a weights checksum to metadata.json, and write"
                + " model.onnx: the network as an ONNX graph (opset " + OnnxExport.OPSET + ", any batch size,"
                + " BatchNorm folded, output: logits; described under 'onnx' in metadata.json) for ONNX Runtime"
                + " and other ONNX readers.")
public final class ExportCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "Run directory (from 'wbc train') or a model folder")
    Path run;

    @Option(names = {"-o", "--out"}, required = true, description = "Bundle folder to create")
    Path out;

    @Option(names = "--force", description = "Replace an existing non-empty bundle folder")
    boolean force;

    @Override
    public Integer call() throws Exception {
        Path modelDir = ModelDirs.resolve(run);
        // The run directory is where eval-test/ lives; for a model folder given directly that is its parent.
        Path name = modelDir.toAbsolutePath().normalize().getFileName();
        Path runDir = modelDir.equals(run) && name != null && name.toString().equals(RunDir.MODEL)
                ? modelDir.toAbsolutePath().normalize().getParent() : run;
        Path target = out.toAbsolutePath().normalize();
        Path source = modelDir.toAbsolutePath().normalize();
        // Either way round, replacing the target would delete or nest the model being exported.
        if (target.startsWith(source) || source.startsWith(target)) {
            throw new UserException(out + ": the bundle must not contain, or be inside, the model folder it is exported from");
        }
        checkTarget(target);
        ObjectNode md = (ObjectNode) Json.MAPPER.readTree(modelDir.resolve(Classifier.METADATA).toFile());
        complete(md, modelDir, runDir);

        // An existing target (empty, or with --force) is replaced only once the new bundle is whole.
        org.wbctransfer.util.AtomicFiles.writeFolder(target, tmp -> {
            // Through a stream, not Files.copy, which would give the copy the source's mode (runs
            // wrote 0600 before): a bundle is meant to be shared, so it gets the umask's.
            try (java.io.OutputStream o = Files.newOutputStream(tmp.resolve(Classifier.WEIGHTS), java.nio.file.StandardOpenOption.CREATE_NEW)) {
                Files.copy(modelDir.resolve(Classifier.WEIGHTS), o);
            }
            if (Files.isRegularFile(modelDir.resolve(OodDetector.FILE))) {
                try (java.io.OutputStream o = Files.newOutputStream(tmp.resolve(OodDetector.FILE), java.nio.file.StandardOpenOption.CREATE_NEW)) {
                    Files.copy(modelDir.resolve(OodDetector.FILE), o);
                }
            }
            // Loading proves the weights match the metadata before anything is installed; the ONNX
            // graph is made from the weights as loaded, BatchNorm folded.
            try (Classifier c = Classifier.load(modelDir)) {
                if (c.cellCrop() != null) {
                    c.cellCrop().copyTo(tmp); // a model trained on cell-centred crops frames with its own segmenter
                    c.cellCrop().writeOnnx(tmp); // and frames on ONNX Runtime when the classifier runs there
                }
                if (c.metadata().norm() == TrainConfig.Norm.BATCH) {
                    OnnxInfo info = OnnxExport.write(c, tmp.resolve(OnnxExport.FILE),
                            md.path("export").path("weightsSha256").asText());
                    md.set("onnx", Json.MAPPER.valueToTree(info));
                    ((ArrayNode) md.path("export").path("files")).add(OnnxExport.FILE);
                } else {
                    // The graph is the BatchNorm-folded network; GroupNorm and LayerNorm have no such form yet.
                    System.err.println("wbc: note: no model.onnx for a " + c.metadata().norm().layerName() + " model; it runs on libtorch");
                }
            }
            Json.write(tmp.resolve(Classifier.METADATA), md);
            Json.read(tmp.resolve(Classifier.METADATA), ModelMetadata.class); // still readable as model metadata
        });
        System.out.println("bundle written to " + out);
        JsonNode metrics = md.path("metrics");
        if (metrics.has("testAccuracy")) {
            System.out.printf(java.util.Locale.ROOT, "test accuracy %.4f, macro F1 %.4f (%d images)%n",
                    metrics.path("testAccuracy").asDouble(), metrics.path("testMacroF1").asDouble(),
                    metrics.path("testImages").asInt());
        }
        return 0;
    }

    private void checkTarget(Path target) throws IOException {
        if (!Files.exists(target)) {
            return;
        }
        if (!Files.isDirectory(target)) {
            throw new UserException(out + ": exists and is not a folder");
        }
        if (!force && !isEmpty(target)) {
            throw new UserException(out + ": folder exists and is not empty; use --force to replace it");
        }
    }

    /** Adds to the metadata what a user of the bundle needs and the run directory holds elsewhere. */
    static void complete(ObjectNode md, Path modelDir, Path runDir) throws IOException {
        if (!md.hasNonNull("classes") || !md.hasNonNull("inputShape") || !md.hasNonNull("normalization")) {
            throw new UserException(modelDir.resolve(Classifier.METADATA)
                    + ": lacks classes, inputShape or normalization; cannot make a usable bundle");
        }
        if (!md.hasNonNull("format")) {
            md.put("format", ModelMetadata.FORMAT);
        }
        if (!md.hasNonNull("architecture")) {
            md.put("architecture", "resnet18");
        }
        if (!md.hasNonNull("intendedUse")) {
            md.put("intendedUse", ModelMetadata.INTENDED_USE);
        }
        ObjectNode metrics = md.hasNonNull("metrics") && md.get("metrics").isObject()
                ? (ObjectNode) md.get("metrics") : md.putObject("metrics");
        Path metricsFile = RunDir.of(runDir).testMetrics();
        if (Files.isRegularFile(metricsFile)) {
            ClassificationMetrics m;
            try {
                m = EvaluationReport.readJson(metricsFile);
            } catch (IOException e) {
                throw new UserException(metricsFile + ": unreadable test metrics (" + e.getMessage() + ")");
            }
            Evaluation.testMetrics(m).forEach((key, value) -> {
                if (!metrics.has(key)) {
                    metrics.set(key, Json.MAPPER.valueToTree(value));
                }
            });
            if (!metrics.has("testPerClassF1")) {
                ObjectNode perClass = metrics.putObject("testPerClassF1");
                for (ClassificationMetrics.PerClass pc : m.perClass()) {
                    perClass.put(pc.name(), pc.f1());
                }
            }
        }
        if (metrics.isEmpty()) {
            md.remove("metrics");
        }
        // Models from before the block (a sentence, or nothing) get it, from their own numbers.
        if (!md.path("preprocessing").isObject()) {
            ModelMetadata typed = Json.MAPPER.treeToValue(md, ModelMetadata.class);
            md.set("preprocessing", Json.MAPPER.valueToTree(
                    Preprocessing.of(typed.imageSize(), typed.inputNormalization())));
        }
        // Older models recorded the training machine's absolute paths; a bundle keeps them relative.
        if (md.path("training").isObject()) {
            ObjectNode training = (ObjectNode) md.get("training");
            Path cwd = Path.of("").toAbsolutePath();
            for (String field : List.of("dataRoot", "manifest", "cacheDir", "init", "pseudoTeacher")) {
                if (training.path(field).isTextual()) {
                    training.put(field, TrainConfig.relative(cwd, training.get(field).asText()));
                }
            }
        }
        ObjectNode export = md.putObject("export");
        export.put("exportedAt", Instant.now().toString());
        // The run's folder name only: its absolute path is the exporting machine's business.
        Path source = runDir.toAbsolutePath().normalize().getFileName();
        export.put("sourceRun", source == null ? "" : source.toString());
        export.put("weightsSha256", Hashing.sha256(modelDir.resolve(Classifier.WEIGHTS)));
        export.put("exportedBy", Versions.all().get("wbc-transfer"));
        ArrayNode files = export.putArray("files");
        files.add(Classifier.WEIGHTS).add(Classifier.METADATA);
        if (Files.isRegularFile(modelDir.resolve(OodDetector.FILE))) {
            files.add(OodDetector.FILE);
        }
        if (Files.isDirectory(modelDir.resolve(CellCrop.DIR))) {
            files.add(CellCrop.DIR + "/" + CellCrop.WEIGHTS).add(CellCrop.DIR + "/" + CellCrop.INFO)
                    .add(CellCrop.DIR + "/" + OnnxExport.SEGMENTER_FILE);
        }
    }

    static boolean isEmpty(Path dir) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            return !ds.iterator().hasNext();
        }
    }
}
