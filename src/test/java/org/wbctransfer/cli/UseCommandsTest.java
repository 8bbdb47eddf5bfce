package org.wbctransfer.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;
import org.wbctransfer.TinyModel;
import org.wbctransfer.config.Augmentation;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.ImageDecoder;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.util.Hashing;

/** export, predict and explain end to end on a tiny trained model and real Raabin images. */
class UseCommandsTest {

    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    static Path run;
    static Path bundle;
    /** Two unseen images per class (one in a nested folder), a corrupt .jpg, a .txt and a hidden image. */
    static Path images;
    static List<Path> goodImages = new ArrayList<>();

    @BeforeAll
    static void trainAndExport() throws Exception {
        run = TinyModel.train(shared);
        bundle = shared.resolve("bundles/tiny");
        WbcCliTest.Result r = WbcCliTest.run("export", run.toString(), "--out", bundle.toString());
        assertThat(r.code()).as(r.err()).isZero();
        images = shared.resolve("images");
        for (String c : TestData.CLASSES) {
            List<String> files = TestData.firstImages(c, 12);
            Path dir = images.resolve(c.toLowerCase());
            Files.createDirectories(dir.resolve("deeper"));
            Path a = dir.resolve(Path.of(files.get(10)).getFileName());
            Path b = dir.resolve("deeper").resolve(Path.of(files.get(11)).getFileName());
            Files.copy(TestData.raabin().resolve(files.get(10)), a);
            Files.copy(TestData.raabin().resolve(files.get(11)), b);
            goodImages.add(a);
            goodImages.add(b);
        }
        Files.write(images.resolve("corrupt.jpg"), new byte[] {(byte) 0xff, (byte) 0xd8, 1, 2, 3, 4, 5});
        Files.writeString(images.resolve("notes.txt"), "not an image");
        Files.copy(goodImages.get(0), images.resolve(".hidden.jpg"));
    }

    // --- export ---------------------------------------------------------------------------------

    @Test
    void exportMakesAStandaloneBundleWithEverythingAUserNeeds() throws Exception {
        try (Classifier c = Classifier.load(bundle)) {
            assertThat(c.metadata().classes()).isEqualTo(TestData.CLASSES);
            assertThat(c.metadata().imageSize()).isEqualTo(64);
            assertThat(c.metadata().normalization().mean()).hasSize(3);
            assertThat(c.metadata().intendedUse()).contains("Not a medical device");
        }
        try (Stream<Path> s = Files.list(bundle)) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly("metadata.json", "model.onnx", "weights.params");
        }
        JsonNode md = new ObjectMapper().readTree(bundle.resolve("metadata.json").toFile());
        JsonNode runMetrics = new ObjectMapper().readTree(run.resolve("eval-test/metrics.json").toFile());
        JsonNode m = md.path("metrics");
        assertThat(m.path("testAccuracy").asDouble()).isCloseTo(runMetrics.path("accuracy").asDouble(), within(1e-12));
        assertThat(m.path("testMacroF1").asDouble()).isCloseTo(runMetrics.path("macroF1").asDouble(), within(1e-12));
        assertThat(m.path("testWeightedF1").isNumber()).isTrue();
        assertThat(m.path("testImages").asInt()).isEqualTo(10);
        assertThat(m.path("testPerClassF1").size()).isEqualTo(5);
        for (JsonNode pc : runMetrics.path("perClass")) {
            assertThat(m.path("testPerClassF1").path(pc.path("name").asText()).asDouble())
                    .isCloseTo(pc.path("f1").asDouble(), within(1e-12));
        }
        assertThat(md.path("preprocessing").path("description").asText()).contains("centre-crop");
        assertThat(md.path("training").path("imageSize").asInt()).isEqualTo(64);
        assertThat(md.path("provenance").path("manifestSha256").asText()).isNotEmpty();
        assertThat(md.path("export").path("weightsSha256").asText())
                .isEqualTo(Hashing.sha256(bundle.resolve("weights.params")))
                .isEqualTo(Hashing.sha256(run.resolve("model/weights.params")));
        // No temp folders left beside the bundle.
        try (Stream<Path> s = Files.list(bundle.getParent())) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("tiny");
        }
    }

    @Test
    void exportedMetadataRecordsTheBuildTheSchemaAndAPreprocessingBlockButNoAbsolutePaths() throws Exception {
        JsonNode md = new ObjectMapper().readTree(bundle.resolve("metadata.json").toFile());
        assertThat(md.path("schemaVersion").asInt()).isEqualTo(2);
        assertThat(md.path("version").asText()).isEqualTo(org.wbctransfer.util.Versions.wbc()).isNotEqualTo("dev");
        JsonNode pre = md.path("preprocessing");
        assertThat(pre.path("size").asInt()).isEqualTo(64);
        assertThat(pre.path("channelOrder").asText()).isEqualTo("RGB");
        assertThat(pre.path("layout").asText()).isEqualTo("NCHW");
        assertThat(pre.path("crop").asText()).isEqualTo("centre square");
        assertThat(pre.path("valueRange").toString()).isEqualTo("[0.0,1.0]");
        for (String k : List.of("mean", "std")) {
            assertThat(pre.path(k).size()).isEqualTo(3);
            for (int c = 0; c < 3; c++) {
                assertThat(pre.path(k).get(c).asDouble()).isEqualTo(md.path("normalization").path(k).get(c).asDouble());
            }
        }
        assertThat(md.path("weightsSha256").asText()).isEqualTo(Hashing.sha256(bundle.resolve("weights.params")));
        // The training machine's folders stay on it: paths relative to where training ran.
        JsonNode training = md.path("training");
        for (String k : List.of("dataRoot", "manifest", "cacheDir")) {
            assertThat(training.path(k).asText()).as(k).isNotEmpty().doesNotStartWith("/");
        }
        assertThat(Path.of(training.path("dataRoot").asText()).toAbsolutePath().normalize())
                .isEqualTo(TestData.raabin().toAbsolutePath().normalize());
        assertThat(md.path("export").path("sourceRun").asText()).isEqualTo("run");
        List<String> absolute = new ArrayList<>();
        absolutePaths(md, "", absolute);
        assertThat(absolute).isEmpty();
    }

    /** Text values anywhere in the tree that start with the file system's root, with their JSON path. */
    private static void absolutePaths(JsonNode n, String at, List<String> out) {
        if (n.isTextual() && n.asText().startsWith("/")) {
            out.add(at + " = " + n.asText());
        }
        n.fields().forEachRemaining(e -> absolutePaths(e.getValue(), at + "." + e.getKey(), out));
        for (int i = 0; n.isArray() && i < n.size(); i++) {
            absolutePaths(n.get(i), at + "[" + i + "]", out);
        }
    }

    @Test
    void bundleFilesGetTheUmasksPermissionsNotOwnerOnly() throws Exception {
        // What any program's new file and folder get here (0644 and 0755 under umask 022).
        var file = Files.getPosixFilePermissions(Files.createFile(tmp.resolve("probe")));
        var folder = Files.getPosixFilePermissions(Files.createDirectory(tmp.resolve("probe-dir")));
        assertThat(file).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ);
        assertThat(Files.getPosixFilePermissions(bundle)).isEqualTo(folder);
        assertThat(Files.getPosixFilePermissions(bundle.resolve("weights.params"))).isEqualTo(file);
        assertThat(Files.getPosixFilePermissions(bundle.resolve("metadata.json"))).isEqualTo(file);
        assertThat(Files.getPosixFilePermissions(run.resolve("model/weights.params"))).isEqualTo(file);
    }

    /** A copy of the bundle with one byte of a weight changed (the file still loads as parameters). */
    private Path damagedCopy(String name) throws Exception {
        Path copy = Files.createDirectories(tmp.resolve(name));
        Files.copy(bundle.resolve("metadata.json"), copy.resolve("metadata.json"));
        byte[] w = Files.readAllBytes(bundle.resolve("weights.params"));
        w[w.length - 3] ^= 0x01; // a low mantissa bit of the head's last bias
        Files.write(copy.resolve("weights.params"), w);
        return copy;
    }

    @Test
    void weightsThatDoNotMatchTheirChecksumAreRefusedByPredictAndServe() throws Exception {
        Path bad = damagedCopy("damaged");
        WbcCliTest.Result p = WbcCliTest.run("predict", bad.toString(), goodImages.get(0).toString(), "--no-progress");
        assertThat(p.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(p.out()).isEmpty();
        assertThat(p.err().strip().lines().toList()).singleElement().asString()
                .startsWith("wbc: error: " + bad.resolve("weights.params") + ": checksum mismatch");
        WbcCliTest.Result s = WbcCliTest.run("serve", bad.toString(), "--port", "0");
        assertThat(s.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(s.out()).doesNotContain("serving");
        assertThat(s.err().strip().lines().toList()).singleElement().asString().contains("checksum mismatch");

        // A bundle from before the checksum (neither field) loads unchecked.
        ObjectNode md = (ObjectNode) new ObjectMapper().readTree(bad.resolve("metadata.json").toFile());
        md.remove("weightsSha256");
        ((ObjectNode) md.get("export")).remove("weightsSha256");
        Files.writeString(bad.resolve("metadata.json"), md.toString());
        WbcCliTest.Result old = WbcCliTest.run("predict", bad.toString(), goodImages.get(0).toString(), "--no-progress");
        assertThat(old.code()).as(old.err()).isZero();
        // Only export's checksum (bundles exported before schema 2) is checked too.
        md.remove("export");
        ObjectNode export = md.putObject("export");
        export.put("weightsSha256", Hashing.sha256(bundle.resolve("weights.params")));
        Files.writeString(bad.resolve("metadata.json"), md.toString());
        assertThat(WbcCliTest.run("predict", bad.toString(), goodImages.get(0).toString()).err())
                .contains("checksum mismatch");
    }

    @Test
    void aClassListThatDoesNotMatchTheNetworkIsAOneLineError() throws Exception {
        Path copy = Files.createDirectories(tmp.resolve("three"));
        Files.copy(bundle.resolve("weights.params"), copy.resolve("weights.params"));
        ObjectNode md = (ObjectNode) new ObjectMapper().readTree(bundle.resolve("metadata.json").toFile());
        md.putArray("classes").add("Basophil").add("Eosinophil").add("Lymphocyte");
        Files.writeString(copy.resolve("metadata.json"), md.toString());
        WbcCliTest.Result r = WbcCliTest.run("predict", copy.toString(), goodImages.get(0).toString(), "--no-progress");
        assertThat(r.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(r.err().strip().lines().toList()).singleElement().isEqualTo("wbc: error: "
                + copy.resolve("metadata.json") + ": lists 3 classes but the network in weights.params has 5 outputs");
    }

    @Test
    void resumingAFinishedRunReadsNoTestImageAgainAndRewritesNothing() throws Exception {
        Path copy = tmp.resolve("finished");
        try (Stream<Path> s = Files.walk(run)) {
            for (Path p : s.toList()) {
                Path to = copy.resolve(run.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(p, to, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
        // Unreadable test images would be warned about (or fail) if the test split were read again.
        Path testImages = Files.createDirectories(tmp.resolve("no-data"));
        ObjectNode cfg = (ObjectNode) new ObjectMapper().readTree(copy.resolve("config.json").toFile());
        cfg.put("dataRoot", testImages.toString());
        Files.writeString(copy.resolve("config.json"), cfg.toString());
        var before = Files.getLastModifiedTime(copy.resolve("eval-test/predictions.csv"));
        String metadata = Files.readString(copy.resolve("model/metadata.json"));
        WbcCliTest.Result r = WbcCliTest.run("train", "--resume", "--run-dir", copy.toString(), "--no-progress");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith(copy + ": already trained and tested; nothing to resume");
        assertThat(r.out()).contains(Files.readString(copy.resolve("eval-test/report.txt")));
        assertThat(Files.getLastModifiedTime(copy.resolve("eval-test/predictions.csv"))).isEqualTo(before);
        assertThat(copy.resolve("model/metadata.json")).hasContent(metadata);
    }

    @Test
    void exportRefusesANonEmptyTargetUnlessForced() throws Exception {
        Path target = tmp.resolve("taken");
        Files.createDirectories(target);
        Files.writeString(target.resolve("keep.txt"), "mine");
        WbcCliTest.Result r = WbcCliTest.run("export", run.toString(), "--out", target.toString());
        assertThat(r.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(r.err().strip().lines().count()).isEqualTo(1);
        assertThat(r.err()).startsWith("wbc: error: ").contains("not empty").contains("--force");
        assertThat(target.resolve("keep.txt")).hasContent("mine");
        assertThat(target.resolve("metadata.json")).doesNotExist();

        WbcCliTest.Result forced = WbcCliTest.run("export", run.resolve("model").toString(), "--out", target.toString(), "--force");
        assertThat(forced.code()).as(forced.err()).isZero();
        assertThat(target.resolve("keep.txt")).doesNotExist();
        try (Classifier c = Classifier.load(target)) {
            assertThat(c.metadata().classes()).isEqualTo(TestData.CLASSES);
        }
        // Exporting over the run itself would delete the model being exported.
        WbcCliTest.Result overRun = WbcCliTest.run("export", run.toString(), "--out", run.toString(), "--force");
        assertThat(overRun.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(run.resolve("model/weights.params")).isRegularFile();
        // Given the model/ folder itself, export still finds the run's eval-test/.
        assertThat(Files.readString(target.resolve("metadata.json"))).contains("testPerClassF1");
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("taken");
        }
    }

    // --- predict --------------------------------------------------------------------------------

    @Test
    void predictCsvHasOneRowPerGoodImageAndMatchesTheClassifier() throws Exception {
        WbcCliTest.Result r = WbcCliTest.run("predict", bundle.toString(), images.toString());
        assertThat(r.code()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines.get(0)).isEqualTo("file,predicted,probability,p_Basophil,p_Eosinophil,p_Lymphocyte,p_Monocyte,p_Neutrophil");
        assertThat(lines).hasSize(1 + goodImages.size());
        Map<String, float[]> rows = parseCsv(lines);
        assertThat(rows.keySet()).containsExactlyInAnyOrderElementsOf(goodImages.stream().map(Path::toString).toList());
        assertThat(r.out()).doesNotContain("corrupt.jpg").doesNotContain("notes.txt").doesNotContain(".hidden");
        assertThat(r.err()).contains("wbc: warning: " + images.resolve("corrupt.jpg") + ": ");
        assertThat(r.err().lines().filter(l -> l.startsWith("wbc: warning: ")).count()).isEqualTo(1);
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",");
            double sum = 0;
            int best = 0;
            for (int k = 0; k < 5; k++) {
                double p = Double.parseDouble(f[3 + k]);
                sum += p;
                if (p > Double.parseDouble(f[3 + best])) {
                    best = k;
                }
            }
            assertThat(sum).isCloseTo(1.0, within(1e-4));
            assertThat(f[1]).isEqualTo(TestData.CLASSES.get(best));
            assertThat(f[2]).isEqualTo(f[3 + best]);
        }
        // The same numbers as the library on independently prepared input.
        try (Classifier c = Classifier.load(bundle)) {
            Augmenter plain = new Augmenter(Augmentation.none(), c.metadata().normalization(), 64);
            for (Path img : goodImages) {
                float[] x = new float[3 * 64 * 64];
                plain.plain(ImageDecoder.decodeRgb(img, 64), x, 0);
                float[] expected = c.probabilities(x, 1, 64)[0];
                float[] got = rows.get(img.toString());
                for (int k = 0; k < 5; k++) {
                    assertThat(got[k]).as("%s p_%s", img, TestData.CLASSES.get(k)).isCloseTo(expected[k], within(1e-5f));
                }
            }
        }
    }

    @Test
    void benchSoakPredictRunsExactlyNPredictionsGoingRoundTheImages() throws Exception {
        // The class folders of `images` hold one image each (the others are nested deeper): 5
        // images in batches of 4 and 1, so 250 predictions go round them 50 times.
        WbcCliTest.Result r = WbcCliTest.run("bench", "--soak-predict", "250", "--model", bundle.toString(), "--data",
                images.toString(), "--batch", "4", "--cache-dir", tmp.resolve("cache").toString());
        assertThat(r.code()).as(r.err()).isZero();
        List<Long> progress = r.out().lines().filter(l -> l.startsWith("soak-predict: "))
                .map(l -> Long.parseLong(l.split(" ")[1])).toList();
        assertThat(progress).isSorted().last().isEqualTo(250L);
        assertThat(progress).hasSizeBetween(2, 5); // about every 20 batches (80 predictions), and at the end
        assertThat(r.out()).containsOnlyOnce("soak-predict done: 250 predictions at 64 px, batch 4, ");
        assertThat(WbcCliTest.run("bench", "--soak-predict", "10", "--data", images.toString()).code())
                .as("no --model").isEqualTo(WbcCli.EXIT_USER_ERROR);
    }

    @Test
    void predictJsonParsesAndAgreesWithCsvWhateverTheBatching() throws Exception {
        Path json = tmp.resolve("out/predictions.json");
        Path csv = tmp.resolve("predictions.csv");
        WbcCliTest.Result r = WbcCliTest.run("predict", run.toString(), images.toString(), "--out", json.toString(),
                "--batch", "3", "--no-progress");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains("corrupt.jpg");
        WbcCliTest.Result rc = WbcCliTest.run("predict", bundle.toString(), images.toString(), "--out", csv.toString(),
                "--batch", "64", "--no-progress");
        assertThat(rc.code()).as(rc.err()).isZero();
        Map<String, float[]> fromCsv = parseCsv(Files.readAllLines(csv));

        JsonNode doc = new ObjectMapper().readTree(json.toFile());
        assertThat(doc.path("classes").size()).isEqualTo(5);
        JsonNode preds = doc.path("predictions");
        assertThat(preds.size()).isEqualTo(goodImages.size());
        for (JsonNode p : preds) {
            String file = p.path("file").asText();
            assertThat(file).doesNotContain("corrupt");
            double sum = 0;
            float[] c = fromCsv.get(file);
            assertThat(c).as(file).isNotNull();
            for (int k = 0; k < 5; k++) {
                double v = p.path("probabilities").path(TestData.CLASSES.get(k)).asDouble();
                sum += v;
                assertThat(v).isCloseTo(c[k], within(1e-5));
            }
            assertThat(sum).isCloseTo(1.0, within(1e-4));
            assertThat(p.path("probability").asDouble())
                    .isCloseTo(p.path("probabilities").path(p.path("predicted").asText()).asDouble(), within(1e-12));
        }
        try (Stream<Path> s = Files.list(json.getParent())) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("predictions.json");
        }
    }

    @Test
    void predictWithChannelsLastGivesTheSameProbabilities() throws Exception {
        Path plain = tmp.resolve("plain.csv");
        Path cl = tmp.resolve("cl.csv");
        WbcCliTest.Result a = WbcCliTest.run("predict", bundle.toString(), images.toString(), "--out", plain.toString(),
                "--no-progress");
        WbcCliTest.Result b = WbcCliTest.run("predict", bundle.toString(), images.toString(), "--out", cl.toString(),
                "--no-progress", "--channels-last");
        assertThat(a.code()).as(a.err()).isZero();
        if (!org.wbctransfer.model.Formats.channelsLastIsSound(64)) {
            // This CPU's kernels compute the format wrongly: refused in one line, nothing written.
            assertThat(b.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
            assertThat(BadInputCommandsTest.userError(b)).startsWith("wbc: error: --channels-last: this CPU's convolution"
                    + " kernels compute the channels-last format wrongly (a probe ResNet-18's logits at 64 px differ");
            assertThat(cl).doesNotExist();
            return;
        }
        assertThat(b.code()).as(b.err()).isZero();
        Map<String, float[]> want = parseCsv(Files.readAllLines(plain));
        Map<String, float[]> got = parseCsv(Files.readAllLines(cl));
        assertThat(got.keySet()).isEqualTo(want.keySet());
        for (Map.Entry<String, float[]> e : want.entrySet()) {
            for (int k = 0; k < 5; k++) {
                assertThat(got.get(e.getKey())[k]).as(e.getKey()).isCloseTo(e.getValue()[k], within(1e-4f));
            }
        }
    }

    @Test
    void predictWithNoReadableImageIsAUserErrorAndBadBundlesAreOneLineErrors() throws Exception {
        WbcCliTest.Result none = WbcCliTest.run("predict", bundle.toString(), images.resolve("corrupt.jpg").toString(),
                images.resolve("notes.txt").toString(), tmp.resolve("missing.jpg").toString(), "--no-progress");
        assertThat(none.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(none.out()).isEmpty();
        List<String> warnings = none.err().lines().filter(l -> l.startsWith("wbc: warning: ")).toList();
        assertThat(warnings).hasSize(3);
        assertThat(warnings.get(0)).startsWith("wbc: warning: " + tmp.resolve("missing.jpg") + ": ");
        assertThat(none.err()).contains("notes.txt: ").contains("wbc: error: ");

        WbcCliTest.Result missing = WbcCliTest.run("predict", tmp.resolve("nope").toString(), images.toString());
        assertThat(missing.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(missing.err().strip().lines().count()).isEqualTo(1);
        assertThat(missing.err()).contains("nope").contains("not found");

        Files.createDirectories(tmp.resolve("empty"));
        WbcCliTest.Result notBundle = WbcCliTest.run("explain", tmp.resolve("empty").toString(), goodImages.get(0).toString());
        assertThat(notBundle.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(notBundle.err().strip().lines().count()).isEqualTo(1);
        assertThat(notBundle.err()).contains("not a model bundle");

        WbcCliTest.Result badOut = WbcCliTest.run("predict", bundle.toString(), images.toString(), "--out",
                tmp.resolve("p.xlsx").toString());
        assertThat(badOut.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(badOut.err()).contains(".csv or .json");
    }

    // --- explain --------------------------------------------------------------------------------

    @Test
    void explainWritesAnOverlayAndPrintsTheScoresPredictGives() throws Exception {
        Path img = goodImages.get(5);
        Path png = tmp.resolve("cam/overlay.png");
        WbcCliTest.Result r = WbcCliTest.run("explain", bundle.toString(), img.toString(), "--out", png.toString());
        assertThat(r.code()).as(r.err()).isZero();
        BufferedImage overlay = ImageIO.read(png.toFile());
        assertThat(overlay).isNotNull();
        assertThat(overlay.getWidth()).isEqualTo(256);
        assertThat(overlay.getHeight()).isEqualTo(256);

        List<String> scoreLines = r.out().lines().filter(l -> l.startsWith("  ")).toList();
        assertThat(scoreLines).hasSize(5);
        Map<String, Double> scores = new HashMap<>();
        double previous = Double.MAX_VALUE;
        for (String l : scoreLines) {
            String[] f = l.strip().split("\\s+");
            double v = Double.parseDouble(f[1]);
            assertThat(v).as("sorted descending").isLessThanOrEqualTo(previous);
            previous = v;
            scores.put(f[0], v);
        }
        assertThat(scores.keySet()).containsExactlyInAnyOrderElementsOf(TestData.CLASSES);

        WbcCliTest.Result p = WbcCliTest.run("predict", bundle.toString(), img.toString(), "--no-progress");
        assertThat(p.code()).as(p.err()).isZero();
        float[] probs = parseCsv(p.out().lines().toList()).get(img.toString());
        for (int k = 0; k < 5; k++) {
            assertThat(scores.get(TestData.CLASSES.get(k))).isCloseTo(probs[k], within(1e-5));
        }
        String predicted = p.out().lines().toList().get(1).split(",")[1];
        assertThat(r.out()).contains("predicted " + predicted).contains("Grad-CAM for " + predicted);
        assertThat(r.out()).contains("(layer2, 8x8 map at 64 px, upsampled to 256 px)");

        // An explicitly chosen class, matched case-insensitively.
        Path png2 = tmp.resolve("basophil.png");
        WbcCliTest.Result b = WbcCliTest.run("explain", bundle.toString(), img.toString(), "--out", png2.toString(),
                "--class", "basophil", "--size", "128");
        assertThat(b.code()).as(b.err()).isZero();
        assertThat(b.out()).contains("Grad-CAM for Basophil");
        assertThat(ImageIO.read(png2.toFile()).getWidth()).isEqualTo(128);
    }

    @Test
    void explainRejectsMissingAndNonImagesAndUnknownClassesInOneLine() throws Exception {
        for (String[] args : List.of(
                new String[] {"explain", bundle.toString(), tmp.resolve("missing.png").toString()},
                new String[] {"explain", bundle.toString(), images.resolve("notes.txt").toString()},
                new String[] {"explain", bundle.toString(), images.resolve("corrupt.jpg").toString()},
                new String[] {"explain", bundle.toString(), goodImages.get(0).toString(), "--class", "Platelet"},
                new String[] {"explain", tmp.resolve("no-bundle").toString(), goodImages.get(0).toString()})) {
            WbcCliTest.Result r = WbcCliTest.run(args);
            assertThat(r.code()).as(String.join(" ", args)).isEqualTo(WbcCli.EXIT_USER_ERROR);
            assertThat(r.err().strip().lines().count()).as(r.err()).isEqualTo(1);
            assertThat(r.err()).startsWith("wbc: error: ");
        }
        assertThat(WbcCliTest.run("explain", bundle.toString(), images.resolve("notes.txt").toString()).err())
                .contains("notes.txt: not a recognised image format");
        assertThat(tmp.resolve("missing-gradcam.png")).doesNotExist();
    }

    @Test
    void explainOnAFolderWritesAGalleryOfTheFirstImagesOfEachClassWithWhatPredictSays() throws Exception {
        // Three unseen images per class, one folder per class (what evaluate --folder reads).
        Path labelled = tmp.resolve("labelled");
        Map<String, List<String>> names = new HashMap<>();
        for (String c : TestData.CLASSES) {
            Path dir = Files.createDirectories(labelled.resolve(c.toLowerCase()));
            for (String f : TestData.firstImages(c, 12).subList(7, 10)) {
                Path src = TestData.raabin().resolve(f);
                Files.copy(src, dir.resolve(src.getFileName()));
                names.computeIfAbsent(c, k -> new ArrayList<>()).add(src.getFileName().toString());
            }
        }
        Path g = tmp.resolve("gallery");
        WbcCliTest.Result r = WbcCliTest.run("explain", bundle.toString(), labelled.toString(), "--out", g.toString(),
                "--per-class", "2", "--size", "96");
        assertThat(r.code()).as(r.err()).isZero();
        List<String> rows = Files.readAllLines(g.resolve("gallery.csv"));
        assertThat(rows.get(0)).startsWith("image,label,predicted,p_predicted,p_label,correct,map_empty,in_mask");
        assertThat(rows).hasSize(1 + 10);

        WbcCliTest.Result p = WbcCliTest.run("predict", bundle.toString(), labelled.toString(), "--no-progress");
        assertThat(p.code()).as(p.err()).isZero();
        Map<String, float[]> probs = parseCsv(p.out().lines().toList());
        Map<String, Integer> perLabel = new HashMap<>();
        String page = Files.readString(g.resolve("index.html"));
        for (String row : rows.subList(1, rows.size())) {
            String[] f = row.split(",");
            perLabel.merge(f[1], 1, Integer::sum);
            // The first two of the class's three by file name.
            List<String> sorted = names.get(f[1]).stream().sorted().toList();
            assertThat(f[0]).isIn(f[1].toLowerCase() + "/" + sorted.get(0), f[1].toLowerCase() + "/" + sorted.get(1));
            float[] pr = probs.get(labelled.resolve(f[0]).toString());
            assertThat(pr).as(f[0]).isNotNull();
            int argMax = Classifier.argMax(pr);
            assertThat(f[2]).as("predicted, as predict says").isEqualTo(TestData.CLASSES.get(argMax));
            assertThat(Double.parseDouble(f[3])).isCloseTo(pr[argMax], within(1e-4));
            assertThat(Double.parseDouble(f[4])).isCloseTo(pr[TestData.CLASSES.indexOf(f[1])], within(1e-4));
            assertThat(f[5]).isEqualTo(String.valueOf(f[1].equals(f[2])));
            assertThat(f[7]).as("no masks, no in-mask share").isEmpty();
            for (String png : List.of(f[9], f[10])) {
                BufferedImage img = ImageIO.read(g.resolve(png).toFile());
                assertThat(img.getWidth()).isEqualTo(96);
                assertThat(page).contains("src=\"" + png + "\"");
            }
        }
        assertThat(perLabel).containsOnlyKeys(TestData.CLASSES).allSatisfy((k, v) -> assertThat(v).isEqualTo(2));
        assertThat(r.out()).contains("10 images").contains("gallery written to");

        // Written whole or not at all: an existing folder is refused and left as it was.
        WbcCliTest.Result again = WbcCliTest.run("explain", bundle.toString(), labelled.toString(), "--out", g.toString());
        assertThat(again.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(again.err().strip().lines().count()).isEqualTo(1);
        assertThat(again.err()).contains("already exists");
        assertThat(Files.readAllLines(g.resolve("gallery.csv"))).isEqualTo(rows);
        WbcCliTest.Result withClass = WbcCliTest.run("explain", bundle.toString(), labelled.toString(), "--out",
                tmp.resolve("g2").toString(), "--class", "Basophil");
        assertThat(withClass.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(tmp.resolve("g2")).doesNotExist();
        try (Stream<Path> left = Files.list(tmp)) {
            assertThat(left.map(x -> x.getFileName().toString())).noneMatch(n -> n.startsWith(".g"));
        }
    }

    @Test
    void aGalleryOfAWbcSegSourceGivesTheShareOfTheMapOnTheCellAsTheGradCamStudyMeasuresIt() throws Exception {
        Path source = TestData.datasets().resolve("wbc-seg/cellavision");
        Path g = tmp.resolve("cv");
        WbcCliTest.Result r = WbcCliTest.run("explain", bundle.toString(), source.toString(), "--out", g.toString(),
                "--per-class", "1");
        assertThat(r.code()).as(r.err()).isZero();
        List<String> rows = Files.readAllLines(g.resolve("gallery.csv"));
        assertThat(rows).hasSize(1 + 5); // cellavision holds every class

        Path study = tmp.resolve("study.json");
        WbcCliTest.Result s = WbcCliTest.run("gradcam-study", bundle.toString(), source.toString(), "--layer", "layer2",
                "--out", study.toString());
        assertThat(s.code()).as(s.err()).isZero();
        List<String> studyRows = Files.readAllLines(tmp.resolve("study.csv"));
        List<String> header = List.of(studyRows.get(0).split(","));
        Map<String, String[]> byImage = new HashMap<>();
        for (String row : studyRows.subList(1, studyRows.size())) {
            String[] f = row.split(",");
            byImage.put(f[header.indexOf("image")], f);
        }
        int withMap = 0;
        for (String row : rows.subList(1, rows.size())) {
            String[] f = row.split(",", -1);
            String[] st = byImage.get(f[0].substring("images/".length()));
            assertThat(st).as(f[0]).isNotNull();
            assertThat(f[2]).isEqualTo(st[header.indexOf("predicted")]);
            assertThat(Double.parseDouble(f[8])).isCloseTo(Double.parseDouble(st[header.indexOf("area_fraction")]),
                    within(1e-4));
            String inMask = st[header.indexOf("in_mask_layer2")];
            if (f[6].equals("true")) {
                assertThat(f[7]).isEmpty();
            } else {
                withMap++;
                assertThat(Double.parseDouble(f[7])).isCloseTo(Double.parseDouble(inMask), within(1e-4));
            }
        }
        assertThat(withMap).isPositive();
        assertThat(r.out()).contains("map on the cell: mean");
    }

    @Test
    void evaluateAcceptsABundleAndWritesBesideIt() throws Exception {
        Path copy = tmp.resolve("b");
        Files.createDirectories(copy);
        for (String f : List.of("weights.params", "metadata.json")) {
            Files.copy(bundle.resolve(f), copy.resolve(f));
        }
        WbcCliTest.Result r = WbcCliTest.run("evaluate", copy.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("macro avg").contains("10 images");
        assertThat(tmp.resolve("b-eval-test/metrics.json")).isRegularFile();
        // Same model, same test split: the metrics the bundle carries.
        JsonNode m = new ObjectMapper().readTree(tmp.resolve("b-eval-test/metrics.json").toFile());
        JsonNode md = new ObjectMapper().readTree(copy.resolve("metadata.json").toFile());
        assertThat(m.path("accuracy").asDouble()).isCloseTo(md.path("metrics").path("testAccuracy").asDouble(), within(1e-12));
        try (Stream<Path> s = Files.list(copy)) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly("metadata.json", "weights.params");
        }
    }

    @Test
    void evaluateReadsAWbcSegSourceAndAdaptsBatchNormToIt() throws Exception {
        Path tecom = TestData.datasets().resolve("wbc-seg/tecom");
        String weightsBefore = Hashing.sha256(bundle.resolve("weights.params"));
        WbcCliTest.Result plain = WbcCliTest.run("evaluate", bundle.toString(), "--folder", tecom.toString(),
                "--out", tmp.resolve("plain").toString(), "--cache-dir", tmp.resolve("cache").toString());
        assertThat(plain.code()).as(plain.err()).isZero();
        assertThat(plain.out()).contains("(300 images)");
        JsonNode m = new ObjectMapper().readTree(tmp.resolve("plain/metrics.json").toFile());
        // wbc-seg tecom's labels.csv: 1 basophil, 22 eosinophils, 53 lymphocytes, 48 monocytes, 176 neutrophils.
        assertThat(m.path("confusionMatrix").path("counts").get(4).size()).isEqualTo(5);
        int neutrophils = 0;
        for (JsonNode v : m.path("confusionMatrix").path("counts").get(4)) {
            neutrophils += v.asInt();
        }
        assertThat(neutrophils).isEqualTo(176);

        WbcCliTest.Result adapted = WbcCliTest.run("evaluate", bundle.toString(), "--folder", tecom.toString(),
                "--adapt-bn", "--out", tmp.resolve("adapted").toString(), "--cache-dir", tmp.resolve("cache").toString());
        assertThat(adapted.code()).as(adapted.err()).isZero();
        assertThat(adapted.out()).contains("BatchNorm statistics re-estimated on 300 of these images");
        List<String> before = Files.readAllLines(tmp.resolve("plain/predictions.csv"));
        List<String> after = Files.readAllLines(tmp.resolve("adapted/predictions.csv"));
        assertThat(after).hasSameSizeAs(before).isNotEqualTo(before);
        // The bundle itself is only read: its weights are unchanged on disk.
        assertThat(Hashing.sha256(bundle.resolve("weights.params"))).isEqualTo(weightsBefore);

        assertThat(WbcCliTest.run("evaluate", bundle.toString(), "--adapt-bn").err())
                .contains("--adapt-bn needs --folder");
        WbcCliTest.Result floored = WbcCliTest.run("evaluate", bundle.toString(), "--folder", tecom.toString(),
                "--min-confidence", "0.5", "--out", tmp.resolve("floored").toString(), "--cache-dir", tmp.resolve("cache").toString());
        assertThat(floored.code()).as(floored.err()).isZero();
        assertThat(floored.out()).containsPattern("at --min-confidence 0.5: \\d+ of 300 images answered");
        assertThat(floored.out()).contains("selective: accuracy at coverage 90 %").contains("calibration: ECE (15 bins)");
        assertThat(tmp.resolve("floored/selective.json")).isRegularFile();
        assertThat(tmp.resolve("floored/reliability.png")).isRegularFile();

        // predict --adapt-bn: the same adaptation, so the same classes as evaluate's adapted run, and it says so.
        Path json = tmp.resolve("p.json");
        WbcCliTest.Result p = WbcCliTest.run("predict", bundle.toString(), tecom.resolve("images").toString(),
                "--adapt-bn", "--out", json.toString());
        assertThat(p.code()).as(p.err()).isZero();
        assertThat(p.err()).contains("BatchNorm statistics re-estimated on 300 of the input images");
        JsonNode doc = new ObjectMapper().readTree(json.toFile());
        assertThat(doc.path("adaptBn").path("images").asInt()).isEqualTo(300);
        Map<String, String> adaptedClass = new java.util.HashMap<>();
        for (String line : after.subList(1, after.size())) {
            String[] f = line.split(",");
            adaptedClass.put(Path.of(f[0]).getFileName().toString(), f[2]);
        }
        int same = 0;
        for (JsonNode row : doc.path("predictions")) {
            if (row.path("predicted").asText().equals(adaptedClass.get(Path.of(row.path("file").asText()).getFileName().toString()))) {
                same++;
            }
        }
        // Both adapt on the same 300 images, but the running statistics are an exponential average over
        // shuffled batches, and the two list the images in another order (by class, by file name): close
        // statistics, not equal ones, so a few cells near a boundary may change class.
        assertThat(same).isGreaterThanOrEqualTo(280);
        WbcCliTest.Result few = WbcCliTest.run("predict", bundle.toString(), goodImages.get(0).toString(), "--adapt-bn");
        assertThat(few.code()).isEqualTo(2);
        assertThat(few.err()).contains("--adapt-bn needs at least 16 readable images");
    }

    @Test
    void adaptRefitsTheHeadOnAFewCellsPerClassAndHoldsOutTheRest() throws Exception {
        Path cellavision = TestData.datasets().resolve("wbc-seg/cellavision");
        Path adapted = tmp.resolve("adapted");
        WbcCliTest.Result r = WbcCliTest.run("adapt", bundle.toString(), "--labelled", cellavision.toString(),
                "--shots", "2", "--out", adapted.toString(), "--cache-dir", tmp.resolve("cache").toString());
        assertThat(r.code()).as(r.err()).isZero();
        // cellavision: 3 / 12 / 37 / 15 / 33 cells; 2 per class adapt, the other 90 are held out.
        assertThat(r.out()).contains("(90 images; 10 cells adapted, BatchNorm statistics re-estimated on 100 images)");
        JsonNode record = new ObjectMapper().readTree(adapted.resolve("adaptation.json").toFile());
        assertThat(record.path("adaptationCells").asInt()).isEqualTo(10);
        assertThat(record.path("heldOut").path("heldOutImages").asInt()).isEqualTo(90);
        assertThat(record.path("sourceWeightsSha256").asText()).isEqualTo(Hashing.sha256(bundle.resolve("weights.params")));
        JsonNode held = new ObjectMapper().readTree(tmp.resolve("adapted-eval-heldout/metrics.json").toFile());
        assertThat(held.path("accuracy").asDouble()).isEqualTo(record.path("heldOut").path("heldOutAccuracy").asDouble());
        // The adapted bundle is a bundle: predict reads it, and its weights differ from the source's.
        assertThat(WbcCliTest.run("predict", adapted.toString(), goodImages.get(0).toString()).code()).isZero();
        assertThat(Hashing.sha256(adapted.resolve("weights.params"))).isNotEqualTo(record.path("sourceWeightsSha256").asText());
        // Same seed, same draw, same bundle; an existing bundle needs --force.
        WbcCliTest.Result again = WbcCliTest.run("adapt", bundle.toString(), "--labelled", cellavision.toString(),
                "--shots", "2", "--out", adapted.toString(), "--cache-dir", tmp.resolve("cache").toString());
        assertThat(again.code()).isEqualTo(2);
        assertThat(again.err()).contains("use --force");
        assertThat(WbcCliTest.run("adapt", bundle.toString(), "--labelled", cellavision.toString(), "--shots", "0",
                "--out", tmp.resolve("x").toString()).err()).contains("--shots must be at least 1");
        assertThat(tmp.resolve("x")).doesNotExist();
    }

    @Test
    void adaptSelfTrainsTheHeadOnTheHeldOutAndUnlabelledCells() throws Exception {
        Path cellavision = TestData.datasets().resolve("wbc-seg/cellavision");
        Path tecomImages = TestData.datasets().resolve("wbc-seg/tecom/images");
        String cache = tmp.resolve("cache").toString();
        Path plain = tmp.resolve("plain");
        Path selfTrained = tmp.resolve("self-trained");
        assertThat(WbcCliTest.run("adapt", bundle.toString(), "--labelled", cellavision.toString(), "--shots", "2",
                "--out", plain.toString(), "--cache-dir", cache).code()).isZero();
        WbcCliTest.Result r = WbcCliTest.run("adapt", bundle.toString(), "--labelled", cellavision.toString(), "--shots", "2",
                "--self-train", "2", "--unlabelled", tecomImages.toString(), "--out", selfTrained.toString(),
                "--cache-dir", cache);
        assertThat(r.code()).as(r.err()).isZero();
        // 100 labelled cells and 300 unlabelled ones inform the statistics; the 90 held-out cells and the
        // 300 unlabelled ones are the pool, every one of them called in the last of the two rounds.
        assertThat(r.out()).contains("(90 images; 10 cells adapted, BatchNorm statistics re-estimated on 400 images)");
        JsonNode st = new ObjectMapper().readTree(selfTrained.resolve("adaptation.json").toFile()).path("selfTraining");
        assertThat(st.path("rounds").asInt()).isEqualTo(2);
        assertThat(st.path("unlabelledCells").asInt()).isEqualTo(390);
        assertThat(st.path("heldOutCellsAmongThem").asInt()).isEqualTo(90);
        int calls = 0;
        for (JsonNode n : st.path("lastRoundCalls")) {
            calls += n.asInt();
        }
        assertThat(calls).isEqualTo(390);
        assertThat(new ObjectMapper().readTree(plain.resolve("adaptation.json").toFile()).has("selfTraining")).isFalse();
        assertThat(Hashing.sha256(selfTrained.resolve("weights.params"))).isNotEqualTo(Hashing.sha256(plain.resolve("weights.params")));

        // Nothing reads --unlabelled without the BatchNorm step or self-training: said, and not decoded (no
        // cache file of its images beside the labelled cells' one).
        Path ownCache = tmp.resolve("cache-nobn");
        WbcCliTest.Result unread = WbcCliTest.run("adapt", bundle.toString(), "--labelled", cellavision.toString(),
                "--shots", "2", "--no-adapt-bn", "--unlabelled", tecomImages.toString(), "--out",
                tmp.resolve("nobn").toString(), "--cache-dir", ownCache.toString());
        assertThat(unread.code()).as(unread.err()).isZero();
        assertThat(unread.err()).contains(tecomImages + ": --unlabelled not read: no BatchNorm step (--no-adapt-bn)"
                + " and no --self-train");
        try (var files = Files.list(ownCache)) {
            assertThat(files.filter(f -> f.getFileName().toString().endsWith(".bin")).count()).isEqualTo(1);
        }

        WbcCliTest.Result none = WbcCliTest.run("adapt", bundle.toString(), "--labelled", cellavision.toString(),
                "--self-train", "3", "--out", tmp.resolve("y").toString(), "--cache-dir", cache);
        assertThat(none.code()).isEqualTo(2);
        assertThat(none.err()).contains("--self-train needs unlabelled cells");
        WbcCliTest.Result missing = WbcCliTest.run("adapt", bundle.toString(), "--labelled", cellavision.toString(),
                "--unlabelled", tmp.resolve("nowhere").toString(), "--out", tmp.resolve("y").toString());
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).contains("nowhere: no such folder");
        assertThat(tmp.resolve("y")).doesNotExist();
    }

    @Test
    void adaptCanFineTuneTheLastStagesAfterTheHeadKeepingTheRestAndEveryStatistic() throws Exception {
        Path cellavision = TestData.datasets().resolve("wbc-seg/cellavision");
        Path headOnly = tmp.resolve("head-only");
        Path tuned = tmp.resolve("tuned");
        String cache = tmp.resolve("cache").toString();
        assertThat(WbcCliTest.run("adapt", bundle.toString(), "--labelled", cellavision.toString(), "--shots", "2",
                "--out", headOnly.toString(), "--cache-dir", cache).code()).isZero();
        WbcCliTest.Result r = WbcCliTest.run("adapt", bundle.toString(), "--labelled", cellavision.toString(), "--shots", "2",
                "--tune-stages", "1", "--tune-steps", "30", "--tune-lr", "1e-3", "--out", tuned.toString(), "--cache-dir", cache);
        assertThat(r.code()).as(r.err()).isZero();
        // 80 views of the 10 cells; the loss of the last 3 steps is below that of the first 3.
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("30 steps: loss ([0-9.]+) -> ([0-9.]+)").matcher(r.err());
        assertThat(m.find()).as(r.err()).isTrue();
        assertThat(Double.parseDouble(m.group(2))).isLessThan(Double.parseDouble(m.group(1)));
        JsonNode record = new ObjectMapper().readTree(tuned.resolve("adaptation.json").toFile());
        assertThat(record.path("fineTune").path("stages").asInt()).isEqualTo(1);
        assertThat(record.path("fineTune").path("steps").asInt()).isEqualTo(30);
        // Against the head-only adaptation of the same draw: stem and layer1-3 and every BatchNorm
        // statistic are the same floats; layer4's weights and the head moved.
        try (org.wbctransfer.model.Classifier a = org.wbctransfer.model.Classifier.load(headOnly);
             org.wbctransfer.model.Classifier b = org.wbctransfer.model.Classifier.load(tuned)) {
            var pa = a.block().getParameters();
            var pb = b.block().getParameters();
            int same = 0;
            int moved = 0;
            for (int i = 0; i < pa.size(); i++) {
                String name = pa.get(i).getKey();
                ai.djl.nn.Parameter p = pa.get(i).getValue();
                boolean equal = java.util.Arrays.equals(p.getArray().toFloatArray(), pb.get(i).getValue().getArray().toFloatArray());
                boolean statistic = p.getType() == ai.djl.nn.Parameter.Type.RUNNING_MEAN
                        || p.getType() == ai.djl.nn.Parameter.Type.RUNNING_VAR;
                // Children of the classifier: 01 the backbone (its 05 is layer4), 02 the head.
                boolean trainable = !statistic && (name.startsWith("01ResNetBackbone_05") || name.startsWith("02"));
                if (trainable) {
                    moved += equal ? 0 : 1;
                } else {
                    assertThat(equal).as(name).isTrue();
                    same++;
                }
            }
            assertThat(same).isGreaterThan(60);
            assertThat(moved).isGreaterThan(10);
        }
        assertThat(WbcCliTest.run("adapt", bundle.toString(), "--labelled", cellavision.toString(), "--tune-stages", "5",
                "--out", tmp.resolve("y").toString()).err()).contains("fine-tuning needs 1-4 stages");
        assertThat(tmp.resolve("y")).doesNotExist();
    }

    @Test
    void predictRefersImagesBelowTheConfidenceFloor() throws Exception {
        List<String> files = goodImages.stream().map(Path::toString).toList();
        List<String> args = new ArrayList<>(List.of("predict", bundle.toString()));
        args.addAll(files);
        WbcCliTest.Result plain = WbcCliTest.run(args.toArray(String[]::new));
        assertThat(plain.code()).as(plain.err()).isZero();
        Map<String, float[]> probs = parseCsv(plain.out().lines().toList());
        // The floor halfway between the lowest and highest top probability: some answered, some referred.
        List<Float> tops = probs.values().stream().map(p -> { float m = 0; for (float v : p) { m = Math.max(m, v); } return m; })
                .sorted().toList();
        double floor = (tops.get(0) + tops.get(tops.size() - 1)) / 2.0;
        long below = tops.stream().filter(t -> t < floor).count();
        args.addAll(List.of("--min-confidence", Double.toString(floor)));
        WbcCliTest.Result r = WbcCliTest.run(args.toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
        long refer = r.out().lines().skip(1).filter(l -> l.split(",")[1].equals("refer")).count();
        assertThat(refer).isEqualTo(below).isPositive().isLessThan(files.size());
        assertThat(r.err()).contains(below + " of " + files.size() + " image(s) referred for review");
        assertThat(WbcCliTest.run("predict", bundle.toString(), files.get(0), "--min-confidence", "1.5").err())
                .contains("--min-confidence must be between 0 and 1");
    }

    @Test
    void everyNewCommandHasHelp() {
        for (String c : List.of("export", "predict", "explain", "adapt")) {
            WbcCliTest.Result r = WbcCliTest.run(c, "--help");
            assertThat(r.code()).isZero();
            assertThat(r.out()).contains("Usage: wbc " + c);
        }
    }

    /** file -> probabilities, from predict's CSV (header first). */
    static Map<String, float[]> parseCsv(List<String> lines) {
        Map<String, float[]> out = new HashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",");
            float[] p = new float[5];
            for (int k = 0; k < 5; k++) {
                p[k] = Float.parseFloat(f[3 + k]);
            }
            out.put(f[0], p);
        }
        return out;
    }
}
