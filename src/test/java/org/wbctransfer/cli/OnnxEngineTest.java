package org.wbctransfer.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.withinPercentage;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import onnx.OnnxProto.ModelProto;
import onnx.OnnxProto.NodeProto;
import onnx.OnnxProto.ValueInfoProto;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;
import org.wbctransfer.TinyModel;
import org.wbctransfer.evaluation.OodFit;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelInput;
import org.wbctransfer.model.OnnxExport;
import org.wbctransfer.model.OodDetector;
import org.wbctransfer.util.Json;

/**
 * Issue 20: {@code wbc export} writes model.onnx, and ONNX Runtime gives the probabilities the
 * weights give on libtorch, on a model trained on real Raabin images and on real images it never saw.
 */
class OnnxEngineTest {

    /** Largest difference allowed between the engines' probabilities. */
    private static final float TOLERANCE = 1e-4f;

    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    static Path run;
    static Path bundle;
    /** Unseen real images: 8 per class after the tiny model's 10 per class. */
    static List<Path> images = new ArrayList<>();

    @BeforeAll
    static void trainAndExport() throws Exception {
        run = TinyModel.train(shared);
        bundle = shared.resolve("bundle");
        WbcCliTest.Result r = WbcCliTest.run("export", run.toString(), "--out", bundle.toString());
        assertThat(r.code()).as(r.err()).isZero();
        for (String c : TestData.CLASSES) {
            List<String> files = TestData.firstImages(c, 18);
            for (String f : files.subList(10, 18)) {
                images.add(TestData.raabin().resolve(f));
            }
        }
    }

    @Test
    void exportWritesAnOnnxGraphOfFoldedStandardOperatorsWithADynamicBatch() throws Exception {
        assertThat(bundle.resolve(OnnxExport.FILE)).isRegularFile();
        ModelProto m;
        try (InputStream in = Files.newInputStream(bundle.resolve(OnnxExport.FILE))) {
            m = ModelProto.parseFrom(in);
        }
        assertThat(m.getOpsetImport(0).getVersion()).isGreaterThanOrEqualTo(13);
        assertThat(m.getOpsetImport(0).getDomain()).isEmpty();
        Set<String> ops = new TreeSet<>();
        for (NodeProto n : m.getGraph().getNodeList()) {
            ops.add(n.getOpType());
        }
        // BatchNorm folded into the 20 convolutions: no BatchNormalization node is left.
        // Concat joins every stage's pooled features into the second output.
        assertThat(ops).containsExactlyInAnyOrder("Conv", "Relu", "MaxPool", "Add", "GlobalAveragePool", "Flatten", "Gemm",
                "Concat");
        assertThat(m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Conv")).count()).isEqualTo(20);
        ValueInfoProto in = m.getGraph().getInput(0);
        assertThat(in.getName()).isEqualTo(OnnxExport.INPUT);
        assertThat(in.getType().getTensorType().getShape().getDim(0).getDimParam()).isEqualTo("batch");
        assertThat(in.getType().getTensorType().getShape().getDim(3).getDimValue()).isEqualTo(64);
        ValueInfoProto out = m.getGraph().getOutput(0);
        assertThat(out.getName()).isEqualTo(OnnxExport.OUTPUT);
        assertThat(out.getType().getTensorType().getShape().getDim(1).getDimValue()).isEqualTo(TestData.CLASSES.size());
        ValueInfoProto stages = m.getGraph().getOutput(1);
        assertThat(stages.getName()).isEqualTo(OnnxExport.STAGES);
        assertThat(stages.getType().getTensorType().getShape().getDim(1).getDimValue())
                .isEqualTo(org.wbctransfer.model.ResNet18.STAGE_FEATURES);

        JsonNode md = Json.MAPPER.readTree(bundle.resolve(Classifier.METADATA).toFile());
        JsonNode onnx = md.path("onnx");
        assertThat(onnx.path("file").asText()).isEqualTo("model.onnx");
        assertThat(onnx.path("opset").asInt()).isEqualTo(m.getOpsetImport(0).getVersion());
        assertThat(onnx.path("input").asText()).isEqualTo("input");
        assertThat(onnx.path("inputShape").toString()).isEqualTo("[\"batch\",3,64,64]");
        assertThat(onnx.path("inputLayout").asText()).isEqualTo("NCHW");
        assertThat(onnx.path("inputType").asText()).isEqualTo("float32");
        assertThat(onnx.path("inputChannels").asText()).isEqualTo("RGB");
        assertThat(onnx.path("output").asText()).isEqualTo("logits");
        assertThat(onnx.path("softmax").asBoolean()).isFalse();
        assertThat(onnx.path("batchNormFolded").asBoolean()).isTrue();
        assertThat(onnx.path("weightsSha256").asText()).isEqualTo(md.path("export").path("weightsSha256").asText());
        assertThat(md.path("export").path("files").toString()).contains("model.onnx");
        try (Classifier c = Classifier.load(bundle)) {
            assertThat(c.metadata().onnx().sha256()).hasSize(64);
        }
    }

    @Test
    void onnxRuntimeGivesTheProbabilitiesOfTheWeightsOnRealImages() throws Exception {
        try (Classifier torch = Classifier.load(bundle); Classifier onnx = Classifier.load(bundle)) {
            onnx.useOnnx(bundle.resolve(OnnxExport.FILE));
            assertThat(onnx.engine()).isEqualTo("onnx");
            assertThat(torch.engine()).isEqualTo("torch");
            ModelInput input = torch.input();
            int n = images.size();
            float[] x = new float[n * input.floats()];
            for (int i = 0; i < n; i++) {
                input.normalize(input.decode(images.get(i)), x, i * input.floats());
            }
            // One batch of 40, and the same images in batches of 1 and 7: the batch dimension is free.
            float[][] want = torch.probabilities(x, n, input.size());
            compare(onnx.probabilities(x, n, input.size()), want);
            compare(inBatches(onnx, x, n, input, 7), want);
            compare(inBatches(onnx, x, n, input, 1), want);
            // Eight-view test-time augmentation.
            compare(onnx.probabilities(x, n, input.size(), true), torch.probabilities(x, n, input.size(), true));
            // A temperature divides the logits on both engines alike.
            // (The copies share the originals' network and session: closed with them.)
            Classifier hot = torch.withMetadata(torch.metadata().withTemperature(2.5));
            Classifier hotOnnx = onnx.withMetadata(onnx.metadata().withTemperature(2.5));
            float[][] p = hot.probabilities(x, n, input.size());
            compare(hotOnnx.probabilities(x, n, input.size()), p);
            assertThat(p[0][Classifier.argMax(p[0])]).isLessThan(want[0][Classifier.argMax(want[0])]);
            // The graph's second output is every stage's pooled features, as libtorch computes them,
            // so the out-of-distribution scores agree too (energy and MSP from the logits here).
            float[][] stages = torch.features(x, n, input.size(), true);
            float[][] fromGraph;
            try (org.wbctransfer.model.OnnxClassifier graph = org.wbctransfer.model.OnnxClassifier.open(bundle.resolve(OnnxExport.FILE))) {
                fromGraph = graph.run(x, n, input.size()).stages();
            }
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < stages[i].length; j++) {
                    assertThat(fromGraph[i][j]).isCloseTo(stages[i][j], within(1e-4f * Math.max(1f, Math.abs(stages[i][j]))));
                }
            }
            double[][] a = torch.scored(x, n, input.size(), false).scores();
            double[][] b = onnx.scored(x, n, input.size(), false).scores();
            for (int i = 0; i < n; i++) {
                assertThat(b[1][i]).isCloseTo(a[1][i], within(1e-4));
                assertThat(b[2][i]).isCloseTo(a[2][i], within(1e-4));
            }
        }
    }

    @Test
    void aReExportedGraphFollowsChangedWeights() throws Exception {
        // A model whose head was refitted (as wbc adapt does), re-exported: the graph follows the weights.
        Path changed = tmp.resolve("changed");
        try (Classifier c = Classifier.load(bundle)) {
            float[][] head = c.head();
            for (int i = 0; i < head[0].length; i++) {
                head[0][i] *= (i % 3 == 0 ? 1.5f : 0.7f);
            }
            head[1][2] += 0.8f;
            c.setHead(head[0], head[1]);
            c.save(changed.resolve("model"));
        }
        assertThat(Json.MAPPER.readTree(changed.resolve("model/metadata.json").toFile()).has("onnx"))
                .as("save() does not carry a graph description it did not write").isFalse();
        Path rebundled = tmp.resolve("rebundled");
        WbcCliTest.Result r = WbcCliTest.run("export", changed.resolve("model").toString(), "--out", rebundled.toString());
        assertThat(r.code()).as(r.err()).isZero();
        try (Classifier torch = Classifier.load(rebundled); Classifier onnx = Classifier.load(rebundled)) {
            onnx.useOnnx(rebundled.resolve(OnnxExport.FILE));
            ModelInput input = torch.input();
            float[] x = new float[images.size() * input.floats()];
            for (int i = 0; i < images.size(); i++) {
                input.normalize(input.decode(images.get(i)), x, i * input.floats());
            }
            compare(onnx.probabilities(x, images.size(), input.size()), torch.probabilities(x, images.size(), input.size()));
        }
    }

    @Test
    void predictAndEvaluateGiveTheSameClassesOnBothEngines() throws Exception {
        List<String> args = new ArrayList<>(List.of("predict", bundle.toString()));
        images.forEach(p -> args.add(p.toString()));
        WbcCliTest.Result byDefault = WbcCliTest.run(args.toArray(String[]::new));
        args.add("--engine=torch");
        WbcCliTest.Result torch = WbcCliTest.run(args.toArray(String[]::new));
        args.set(args.size() - 1, "--engine=onnx");
        WbcCliTest.Result onnx = WbcCliTest.run(args.toArray(String[]::new));
        for (WbcCliTest.Result r : List.of(byDefault, torch, onnx)) {
            assertThat(r.code()).as(r.err()).isZero();
        }
        assertThat(column(onnx.out(), 1)).isEqualTo(column(torch.out(), 1)).hasSize(images.size());
        assertThat(byDefault.out()).isEqualTo(onnx.out()); // the bundle has model.onnx: ONNX Runtime by default
        List<String> po = column(onnx.out(), 2);
        List<String> pt = column(torch.out(), 2);
        for (int i = 0; i < po.size(); i++) {
            assertThat(Double.parseDouble(po.get(i))).isCloseTo(Double.parseDouble(pt.get(i)),
                    org.assertj.core.data.Offset.offset(2e-4));
        }

        Path eo = tmp.resolve("eval-onnx");
        Path et = tmp.resolve("eval-torch");
        assertThat(WbcCliTest.run("evaluate", bundle.toString(), "--engine", "onnx", "-o", eo.toString()).code()).isZero();
        assertThat(WbcCliTest.run("evaluate", bundle.toString(), "--engine", "torch", "-o", et.toString()).code()).isZero();
        assertThat(column(Files.readString(eo.resolve("predictions.csv")), 2))
                .isEqualTo(column(Files.readString(et.resolve("predictions.csv")), 2)).hasSize(10);
    }

    @Test
    void theGraphIsUsedOnlyWhereItMatchesTheWeights() throws Exception {
        String image = images.get(0).toString();
        // A run directory has no model.onnx: torch by default, an error when asked for.
        assertThat(WbcCliTest.run("predict", run.toString(), image).code()).isZero();
        WbcCliTest.Result noGraph = WbcCliTest.run("predict", run.toString(), image, "--engine", "onnx");
        assertThat(noGraph.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(noGraph.err()).contains("no model.onnx");
        assertThat(WbcCliTest.run("predict", bundle.toString(), image, "--engine", "gpu").err())
                .contains("--engine must be onnx or torch");
        // --adapt-bn changes the weights: torch by default, refused with --engine onnx.
        WbcCliTest.Result adapt = WbcCliTest.run("predict", bundle.toString(), images.get(0).getParent().toString(),
                "--adapt-bn", "--engine", "onnx");
        assertThat(adapt.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(adapt.err()).contains("--adapt-bn").contains("--engine torch");
        // A graph made from other weights is not used.
        Path stale = tmp.resolve("stale");
        Files.createDirectories(stale);
        for (String f : List.of(Classifier.WEIGHTS, OnnxExport.FILE)) {
            Files.copy(bundle.resolve(f), stale.resolve(f));
        }
        ObjectNode md = (ObjectNode) Json.MAPPER.readTree(bundle.resolve(Classifier.METADATA).toFile());
        ((ObjectNode) md.get("onnx")).put("weightsSha256", "0".repeat(64));
        Json.write(stale.resolve(Classifier.METADATA), md);
        assertThat(WbcCliTest.run("predict", stale.toString(), image).code()).isZero();
        WbcCliTest.Result mismatch = WbcCliTest.run("predict", stale.toString(), image, "--engine", "onnx");
        assertThat(mismatch.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(mismatch.err()).contains("other weights");
        try (Classifier c = Classifier.load(bundle)) {
            c.useOnnx(bundle.resolve(OnnxExport.FILE));
            assertThatThrownBy(() -> c.setHead(new float[0], new float[0])).isInstanceOf(IllegalStateException.class);
        }
    }

    /**
     * The Mahalanobis score of the ONNX engine (a graph of its own on ONNX Runtime) is libtorch's, on
     * a detector fitted on the tiny model's training images and the unseen images; and wbc predict
     * and evaluate on the ONNX engine never map libtorch into the process, while predict on the torch
     * engine does (so the check does see it).
     */
    @Test
    void theOnnxEngineScoresOutOfDistributionAsLibtorchDoesWithoutLoadingIt() throws Exception {
        Path scored = Files.createDirectories(tmp.resolve("scored"));
        int n = images.size();
        double[] want;
        try (Classifier torch = Classifier.load(bundle); Classifier onnx = Classifier.load(bundle)) {
            onnx.useOnnx(bundle.resolve(OnnxExport.FILE));
            ModelInput input = torch.input();
            List<Path> fit = new ArrayList<>();
            List<Integer> labels = new ArrayList<>();
            for (int c = 0; c < TestData.CLASSES.size(); c++) {
                for (String f : TestData.firstImages(TestData.CLASSES.get(c), 10)) {
                    fit.add(TestData.raabin().resolve(f));
                    labels.add(c);
                }
            }
            OodDetector d = OodDetector.fit(torch.features(normalized(input, fit), fit.size(), input.size(), true),
                    labels.stream().mapToInt(Integer::intValue).toArray(), TestData.CLASSES.size());
            float[] x = normalized(input, images);
            int m = OodDetector.Score.MAHALANOBIS.ordinal();
            want = torch.withDetector(d).scored(x, n, input.size(), false).scores()[m];
            double[] got = onnx.withDetector(d).scored(x, n, input.size(), false).scores()[m];
            for (int i = 0; i < n; i++) {
                assertThat(want[i]).isGreaterThan(1);
                assertThat(got[i]).isCloseTo(want[i], withinPercentage(0.1));
            }
            assertThat(java.util.Arrays.stream(want).distinct().count()).isEqualTo(n);
            for (String f : List.of(Classifier.WEIGHTS, OnnxExport.FILE)) {
                Files.copy(bundle.resolve(f), scored.resolve(f));
            }
            d.save(scored.resolve(OodDetector.FILE));
            ObjectNode md = (ObjectNode) Json.MAPPER.readTree(bundle.resolve(Classifier.METADATA).toFile());
            md.set("ood", Json.MAPPER.valueToTree(OodFit.block(OodDetector.Score.MAHALANOBIS, want, "test", fit.size())));
            Json.write(scored.resolve(Classifier.METADATA), md);
        }
        Path csv = tmp.resolve("onnx.csv");
        List<String> predict = new ArrayList<>(List.of("predict", scored.toString(), "--engine", "onnx", "-o", csv.toString()));
        images.forEach(p -> predict.add(p.toString()));
        assertThat(probe(predict)).contains(LibtorchProbe.MAPPED + false);
        List<String> rows = Files.readAllLines(csv);
        assertThat(rows.get(0)).endsWith(",ood_score,out_of_distribution");
        for (int i = 0; i < n; i++) {
            String[] f = rows.get(i + 1).split(",");
            assertThat(f[0]).isEqualTo(images.get(i).toString());
            assertThat(Double.parseDouble(f[f.length - 2])).isCloseTo(want[i], withinPercentage(0.1));
        }
        assertThat(probe(List.of("evaluate", scored.toString(), "--engine", "onnx", "-o", tmp.resolve("eval").toString())))
                .contains(LibtorchProbe.MAPPED + false);
        assertThat(Files.readString(tmp.resolve("eval/predictions.csv"))).contains(",ood_score,");
        predict.set(3, "torch");
        assertThat(probe(predict)).contains(LibtorchProbe.MAPPED + true);
    }

    /**
     * The class count is checked on the graph's declared output where metadata.json vouches for the
     * graph (its checksum, from these weights), so the weights need not be loaded; else on the weights.
     */
    @Test
    void theClassCountIsCheckedOnAGraphMadeFromTheWeightsElseOnTheWeights() throws Exception {
        Path three = Files.createDirectories(tmp.resolve("three"));
        for (String f : List.of(Classifier.WEIGHTS, OnnxExport.FILE)) {
            Files.copy(bundle.resolve(f), three.resolve(f));
        }
        ObjectNode md = (ObjectNode) Json.MAPPER.readTree(bundle.resolve(Classifier.METADATA).toFile());
        md.putArray("classes").add("Basophil").add("Eosinophil").add("Lymphocyte");
        Json.write(three.resolve(Classifier.METADATA), md);
        String lists = three.resolve(Classifier.METADATA) + ": lists 3 classes but the network in ";
        assertThatThrownBy(() -> Classifier.load(three)).hasMessage(lists + "model.onnx has 5 outputs");
        ((ObjectNode) md.get("onnx")).put("sha256", "0".repeat(64));
        Json.write(three.resolve(Classifier.METADATA), md);
        assertThatThrownBy(() -> Classifier.load(three)).hasMessage(lists + "weights.params has 5 outputs");
    }

    /** What {@link LibtorchProbe} printed running {@code args} in a child JVM, which must succeed. */
    private String probe(List<String> args) throws Exception {
        Path log = Files.createTempFile(tmp, "probe", ".log");
        Process p = ReproducibilityTest.start(LibtorchProbe.class, args, log);
        assertThat(p.waitFor(300, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        String out = Files.readString(log);
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    private static float[] normalized(ModelInput input, List<Path> files) throws Exception {
        float[] x = new float[files.size() * input.floats()];
        for (int i = 0; i < files.size(); i++) {
            input.normalize(input.decode(files.get(i)), x, i * input.floats());
        }
        return x;
    }

    private static float[][] inBatches(Classifier c, float[] x, int n, ModelInput input, int batch) {
        float[][] out = new float[n][];
        int per = input.floats();
        for (int start = 0; start < n; start += batch) {
            int m = Math.min(batch, n - start);
            float[] part = java.util.Arrays.copyOfRange(x, start * per, (start + m) * per);
            float[][] p = c.probabilities(part, m, input.size());
            System.arraycopy(p, 0, out, start, m);
        }
        return out;
    }

    private static void compare(float[][] got, float[][] want) {
        assertThat(got.length).isEqualTo(want.length);
        float worst = 0;
        for (int i = 0; i < want.length; i++) {
            assertThat(Classifier.argMax(got[i])).as("argmax of image %d", i).isEqualTo(Classifier.argMax(want[i]));
            for (int k = 0; k < want[i].length; k++) {
                worst = Math.max(worst, Math.abs(got[i][k] - want[i][k]));
            }
        }
        assertThat(worst).as("largest probability difference").isLessThanOrEqualTo(TOLERANCE);
    }

    /** One column of a CSV without quoted fields, header dropped. */
    private static List<String> column(String csv, int index) {
        List<String> out = new ArrayList<>();
        String[] lines = csv.split("\n");
        for (int i = 1; i < lines.length; i++) {
            if (!lines[i].isBlank()) {
                out.add(lines[i].split(",")[index]);
            }
        }
        return out;
    }
}
