package org.wbctransfer.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.wbctransfer.BadInputCorpus;
import org.wbctransfer.BadInputCorpus.Kind;
import org.wbctransfer.data.SplitManifest;

/**
 * Every command that reads images, run on the generated bad-input corpus: by default unusable
 * files are skipped with one warning line each and counted in what the command writes; with
 * --strict the first one stops the command with one error line naming the file and the problem,
 * exit code 2, and no output.
 */
class BadInputCommandsTest {

    static final List<String> CLASSES = List.of("Lymphocyte", "Neutrophil");

    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    static BadInputCorpus.Dataset corpus;
    static Path run;
    static WbcCliTest.Result trained;

    /** One tiny lenient training on the whole corpus; evaluate, predict and explain use its model. */
    @BeforeAll
    static void trainOnTheCorpus() throws Exception {
        assumeTrue(BadInputCorpus.nonAsciiNamesWork(shared), "file names are ASCII-only here");
        corpus = BadInputCorpus.dataset(shared.resolve("data"), CLASSES, 6);
        run = shared.resolve("run");
        trained = WbcCliTest.run("train", "--data", corpus.root().toString(), "--split-seed", "1", "--epochs", "1",
                "--image-size", "32", "--batch", "4", "--run-dir", run.toString(), "--cache-dir",
                shared.resolve("cache").toString(), "--no-progress");
    }

    // --- helpers ---------------------------------------------------------------------------------

    /** The command failed as a user error: exit 2, one "wbc: error:" line (the last), no stack trace. */
    static String userError(WbcCliTest.Result r) {
        assertThat(r.code()).as(r.err()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        List<String> lines = r.err().strip().lines().toList();
        assertThat(lines.stream().filter(l -> l.startsWith("wbc: error: "))).as(r.err()).hasSize(1);
        assertThat(lines.get(lines.size() - 1)).startsWith("wbc: error: ");
        assertThat(r.err()).doesNotContain("\tat ").doesNotContain("Exception");
        return lines.get(lines.size() - 1);
    }

    static List<String> warnings(WbcCliTest.Result r) {
        return r.err().lines().filter(l -> l.startsWith("wbc: warning: ")).toList();
    }

    static Path cache(Path dir) {
        return dir.resolve("cache");
    }

    /** Three plain images in each of A and B, and one file of the given kind in A. */
    static Path smallDataset(Path root, Kind kind) {
        for (int i = 0; i < 3; i++) {
            BadInputCorpus.goodImage(root.resolve("A"), "a" + i, i, 0);
            BadInputCorpus.goodImage(root.resolve("B"), "b" + i, 10 + i, 1);
        }
        return kind.write(root.resolve("A"));
    }

    static List<String> listing(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.map(p -> dir.relativize(p).toString()).filter(p -> !p.isEmpty()).sorted().toList();
        }
    }

    // --- split -----------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"EMPTY", "TRUNCATED_JPEG", "RANDOM_BYTES", "BOMB_PNG", "UNSUPPORTED_JPEG", "NON_IMAGE"})
    void splitSkipsAndCountsEachKindOfBadFileOrRefusesItWhenStrict(Kind kind) throws Exception {
        Path data = tmp.resolve("data");
        Path bad = smallDataset(data, kind);
        Path outDir = Files.createDirectories(tmp.resolve("out"));

        WbcCliTest.Result strict = WbcCliTest.run("split", "--data", data.toString(), "--out",
                outDir.resolve("split.csv").toString(), "--cache-dir", cache(tmp).toString(), "--strict");
        assertThat(userError(strict)).startsWith("wbc: error: " + bad + ": ").contains(kind.problem);
        assertThat(listing(outDir)).isEmpty();

        WbcCliTest.Result lenient = WbcCliTest.run("split", "--data", data.toString(), "--out",
                outDir.resolve("split.csv").toString(), "--cache-dir", cache(tmp).toString());
        assertThat(lenient.code()).as(lenient.err()).isZero();
        assertThat(warnings(lenient)).singleElement().asString().startsWith("wbc: warning: " + bad + ": ").contains(kind.problem);
        assertThat(lenient.out()).contains("1 file(s) skipped");
        SplitManifest m = SplitManifest.read(outDir.resolve("split.csv"));
        assertThat(m.entries()).hasSize(6);
        assertThat(m.skipped()).singleElement().asString().startsWith("A/" + kind.fileName + ": ").contains(kind.problem);
        assertThat(listing(outDir)).containsExactly("split.csv");
    }

    @Test
    void splitOfTheWholeCorpusListsEverySkippedFileAndKeepsTheUnusualValidOnes() throws Exception {
        Path out = tmp.resolve("split.csv");
        WbcCliTest.Result r = WbcCliTest.run("split", "--data", corpus.root().toString(), "--out", out.toString(),
                "--image-size", "32", "--cache-dir", cache(tmp).toString(), "--seed", "1");
        assertThat(r.code()).as(r.err()).isZero();
        // One line per invalid file and one for the empty class folder, each naming its file.
        assertThat(warnings(r)).hasSize(corpus.invalid().size() + 1);
        for (Path bad : corpus.invalid()) {
            assertThat(warnings(r)).anySatisfy(w -> assertThat(w).startsWith("wbc: warning: " + bad + ": "));
        }
        assertThat(warnings(r)).anySatisfy(w -> assertThat(w).contains(corpus.root().resolve("Empty").toString()));
        SplitManifest m = SplitManifest.read(out);
        assertThat(m.classNames()).isEqualTo(CLASSES);
        assertThat(m.skipped()).hasSize(corpus.invalid().size());
        assertThat(m.entries()).hasSize(corpus.valid().size());
        assertThat(Files.readString(out)).contains("Lymphocyte/" + Kind.NON_ASCII_NAME.fileName + ",Lymphocyte,");
        // Same seed, same bytes (the skipped record included).
        Path again = tmp.resolve("again.csv");
        WbcCliTest.run("split", "--data", corpus.root().toString(), "--out", again.toString(), "--image-size", "32",
                "--cache-dir", cache(tmp).toString(), "--seed", "1");
        assertThat(Files.readAllBytes(again)).isEqualTo(Files.readAllBytes(out));
    }

    @Test
    void splitLeavesOutANameWithALineBreakAndTrainReadsEveryManifestSplitWrites() throws Exception {
        Path data = tmp.resolve("data");
        for (int i = 0; i < 3; i++) {
            BadInputCorpus.goodImage(data.resolve("A"), "a" + i, i, 0);
            // A class folder whose rows start with '#', which a reader would take for comments.
            BadInputCorpus.goodImage(data.resolve("#B"), "b" + i, 10 + i, 1);
        }
        Path broken = BadInputCorpus.goodImage(data.resolve("A"), "two\nlines", 20, 0);
        Path manifest = tmp.resolve("split.csv");
        WbcCliTest.Result r = WbcCliTest.run("split", "--data", data.toString(), "--out", manifest.toString(),
                "--image-size", "32", "--cache-dir", cache(tmp).toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(broken.getFileName().toString()).isEqualTo("two\nlines.png");
        assertThat(warnings(r)).containsExactly("wbc: warning: " + data.resolve("A") + "/two\\nlines.png: file name holds"
                + " a line break, which a split manifest cannot hold; rename it; skipped");
        SplitManifest m = SplitManifest.read(manifest);
        assertThat(m.classNames()).containsExactly("#B", "A");
        assertThat(m.entries()).hasSize(6);
        assertThat(m.skipped()).singleElement().asString().startsWith("A/two lines");
        WbcCliTest.Result t = WbcCliTest.run("train", "--data", data.toString(), "--manifest", manifest.toString(),
                "--epochs", "1", "--image-size", "32", "--batch", "4", "--run-dir", tmp.resolve("run").toString(),
                "--cache-dir", cache(tmp).toString(), "--no-progress", "--no-evaluate");
        assertThat(t.code()).as(t.err()).isZero();
    }

    @Test
    void splitOfMissingOrAmbiguousFoldersIsAUserError() throws Exception {
        assertThat(userError(WbcCliTest.run("split", "--data", tmp.resolve("missing").toString(), "--out",
                tmp.resolve("s.csv").toString(), "--cache-dir", cache(tmp).toString()))).contains("folder not found");
        Path data = tmp.resolve("cased");
        BadInputCorpus.goodImage(data.resolve("Lymphocyte"), "a", 1, 0);
        BadInputCorpus.goodImage(data.resolve("lymphocyte"), "b", 2, 0);
        assertThat(userError(WbcCliTest.run("split", "--data", data.toString(), "--out", tmp.resolve("s.csv").toString(),
                "--cache-dir", cache(tmp).toString()))).contains("differ only in case");
        assertThat(tmp.resolve("s.csv")).doesNotExist();
    }

    // --- train -----------------------------------------------------------------------------------

    @Test
    void trainingOnTheCorpusSkipsBadFilesAndRecordsThemInTheRun() throws Exception {
        assertThat(trained.code()).as(trained.err()).isZero();
        for (Path bad : corpus.invalid()) {
            assertThat(warnings(trained)).anySatisfy(w -> assertThat(w).startsWith("wbc: warning: " + bad + ": "));
        }
        JsonNode prov = new ObjectMapper().readTree(run.resolve("provenance.json").toFile());
        assertThat(prov.path("skippedAtSplit").size()).isEqualTo(corpus.invalid().size());
        assertThat(prov.path("skippedCount").asInt()).isEqualTo(corpus.invalid().size());
        for (Kind k : Kind.invalidKinds()) {
            assertThat(prov.path("skippedAtSplit").toString()).contains("Lymphocyte/" + k.fileName + ": " );
        }
        assertThat(Files.readString(run.resolve("split.csv"))).contains("# skipped: Lymphocyte/truncated.jpg: truncated");
        assertThat(BadInputCorpus.tempFiles(run)).isEmpty();
    }

    @Test
    void strictTrainingStopsBeforeWritingAnything() throws Exception {
        Path data = tmp.resolve("data");
        Path bad = smallDataset(data, Kind.TRUNCATED_JPEG);
        Path runDir = tmp.resolve("run");
        WbcCliTest.Result r = WbcCliTest.run("train", "--data", data.toString(), "--epochs", "1", "--image-size", "32",
                "--batch", "4", "--run-dir", runDir.toString(), "--cache-dir", cache(tmp).toString(), "--strict");
        assertThat(userError(r)).startsWith("wbc: error: " + bad + ": truncated");
        assertThat(runDir).doesNotExist();

        // A manifest drawn while the file was still whole, then the file went bad.
        Files.delete(bad);
        Path manifest = tmp.resolve("split.csv");
        assertThat(WbcCliTest.run("split", "--data", data.toString(), "--out", manifest.toString(), "--image-size", "32",
                "--cache-dir", cache(tmp).toString()).code()).isZero();
        Path victim = data.resolve(SplitManifest.read(manifest).train("WBC_100").get(0).relativePath());
        Files.write(victim, new byte[0]);
        WbcCliTest.Result m = WbcCliTest.run("train", "--data", data.toString(), "--manifest", manifest.toString(),
                "--epochs", "1", "--image-size", "32", "--batch", "4", "--run-dir", runDir.toString(), "--cache-dir",
                cache(tmp).toString(), "--strict");
        assertThat(userError(m)).isEqualTo("wbc: error: " + victim + ": empty file");
        assertThat(runDir).doesNotExist();

        // Without --strict: one warning in the documented format, no log line.
        WbcCliTest.Result lenient = WbcCliTest.run("train", "--data", data.toString(), "--manifest", manifest.toString(),
                "--epochs", "1", "--image-size", "32", "--batch", "4", "--run-dir", runDir.toString(), "--cache-dir",
                cache(tmp).toString(), "--no-progress", "--no-evaluate");
        assertThat(lenient.code()).as(lenient.err()).isZero();
        assertThat(warnings(lenient)).containsExactly("wbc: warning: " + victim + ": empty file; skipped");
        assertThat(lenient.err()).doesNotContain(" WARN ");
    }

    @Test
    void aTrainingThatFailsOnItsInputLeavesNoHalfMadeRunDirectory() throws Exception {
        Path data = tmp.resolve("data");
        smallDataset(data, Kind.GRAY_PNG);
        Path runDir = tmp.resolve("run");
        // WBC_1 of 3 images per class has no training image at all.
        WbcCliTest.Result r = WbcCliTest.run("train", "--data", data.toString(), "--subset", "WBC_1", "--epochs", "1",
                "--image-size", "32", "--batch", "4", "--run-dir", runDir.toString(), "--cache-dir", cache(tmp).toString());
        assertThat(userError(r)).contains("fewer than 2 usable training images");
        assertThat(runDir).doesNotExist();
    }

    @Test
    void selfTrainingRefusesAMissingTeacherAndOneThatSawMoreLabels() throws Exception {
        assertThat(trained.code()).as(trained.err()).isZero();
        Path runDir = tmp.resolve("student");
        String[] common = {"train", "--data", corpus.root().toString(), "--split-seed", "1", "--subset", "WBC_10",
            "--epochs", "1", "--image-size", "32", "--batch", "4", "--run-dir", runDir.toString(), "--cache-dir",
            shared.resolve("cache").toString(), "--no-progress"};
        WbcCliTest.Result missing = WbcCliTest.run(concat(common, "--pseudo-labels", tmp.resolve("nope").toString()));
        assertThat(userError(missing)).contains(tmp.resolve("nope") + ": model not found");
        // The corpus model trained on WBC_100 of this very split: it knows the labels WBC_10 hides.
        WbcCliTest.Result leaky = WbcCliTest.run(concat(common, "--pseudo-labels", run.toString()));
        assertThat(userError(leaky)).contains("teacher was trained on WBC_100, more labels than the student's WBC_10");
        assertThat(runDir).doesNotExist();
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    // --- evaluate --------------------------------------------------------------------------------

    /** An outside test set: class names in another case, one unknown class, one truncated image. */
    Path outsideFolder() {
        Path root = tmp.resolve("outside");
        for (int i = 0; i < 2; i++) {
            BadInputCorpus.goodImage(root.resolve("lymphocyte"), "l" + i, 50 + i, 0);
            BadInputCorpus.goodImage(root.resolve("NEUTROPHIL"), "n" + i, 60 + i, 1);
            BadInputCorpus.goodImage(root.resolve("Platelet"), "p" + i, 70 + i, 2);
        }
        Kind.TRUNCATED_JPEG.write(root.resolve("lymphocyte"));
        return root;
    }

    @Test
    void evaluateOnAnOutsideFolderSkipsUnknownClassesAndBadImagesOrRefusesThemWhenStrict() throws Exception {
        assertThat(trained.code()).isZero();
        Path outside = outsideFolder();
        Path out = tmp.resolve("eval");
        WbcCliTest.Result strict = WbcCliTest.run("evaluate", run.toString(), "--folder", outside.toString(), "--out",
                out.toString(), "--cache-dir", cache(tmp).toString(), "--strict");
        assertThat(userError(strict)).startsWith("wbc: error: " + outside.resolve("Platelet") + ": class 'Platelet' is not one");
        assertThat(out).doesNotExist();

        WbcCliTest.Result r = WbcCliTest.run("evaluate", run.toString(), "--folder", outside.toString(), "--out",
                out.toString(), "--cache-dir", cache(tmp).toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(warnings(r)).hasSize(2);
        assertThat(warnings(r)).anySatisfy(w -> assertThat(w).contains(outside.resolve("Platelet").toString()).contains("2 image(s) skipped"));
        assertThat(warnings(r)).anySatisfy(w -> assertThat(w).startsWith("wbc: warning: " + outside.resolve("lymphocyte/truncated.jpg") + ": truncated"));
        assertThat(r.out()).contains("(4 images, 3 file(s) skipped)");
        assertThat(Files.readAllLines(out.resolve("skipped.txt"))).hasSize(3);
        assertThat(Files.readAllLines(out.resolve("predictions.csv"))).hasSize(1 + 4);
        assertThat(BadInputCorpus.tempFiles(out)).isEmpty();

        // Nothing known at all: an error, not an empty report.
        Path unknown = tmp.resolve("unknown");
        BadInputCorpus.goodImage(unknown.resolve("Platelet"), "p", 1, 0);
        assertThat(userError(WbcCliTest.run("evaluate", run.toString(), "--folder", unknown.toString(), "--cache-dir",
                cache(tmp).toString()))).contains("none of the class folders");
    }

    // --- predict ---------------------------------------------------------------------------------

    @Test
    void predictClassifiesTheValidImagesAndListsTheOthersOrStopsWhenStrict() throws Exception {
        assertThat(trained.code()).isZero();
        Path json = tmp.resolve("p/predictions.json");
        WbcCliTest.Result r = WbcCliTest.run("predict", run.toString(), corpus.root().toString(), "--out", json.toString(),
                "--no-progress");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode doc = new ObjectMapper().readTree(json.toFile());
        List<String> files = new ArrayList<>();
        doc.path("predictions").forEach(p -> files.add(p.path("file").asText()));
        assertThat(files).containsExactlyInAnyOrderElementsOf(corpus.valid().stream().map(Path::toString).toList());
        // The README has no image extension and is not looked at; the other bad files are listed.
        List<String> undecodable = new ArrayList<>();
        for (Kind k : Kind.values()) {
            if (k.undecodable()) {
                undecodable.add(corpus.root().resolve(CLASSES.get(0)).resolve(k.fileName).toString());
            }
        }
        List<String> skipped = new ArrayList<>();
        doc.path("skipped").forEach(s -> skipped.add(s.path("file").asText()));
        assertThat(skipped).containsExactlyInAnyOrderElementsOf(undecodable);
        assertThat(warnings(r)).hasSize(undecodable.size());

        Path strictOut = tmp.resolve("strict/predictions.csv");
        WbcCliTest.Result strict = WbcCliTest.run("predict", run.toString(), corpus.root().toString(), "--out",
                strictOut.toString(), "--no-progress", "--strict");
        String line = userError(strict);
        assertThat(undecodable).anySatisfy(f -> assertThat(line).startsWith("wbc: error: " + f + ": "));
        assertThat(strictOut.getParent()).doesNotExist();
        assertThat(strict.out()).isEmpty();
        WbcCliTest.Result missing = WbcCliTest.run("predict", run.toString(), tmp.resolve("gone.jpg").toString(), "--strict");
        assertThat(userError(missing)).isEqualTo("wbc: error: " + tmp.resolve("gone.jpg") + ": file not found");
    }

    @Test
    void predictWarnsAboutUnreadableImageTypesLinkLoopsAndTinyImages() throws Exception {
        assertThat(trained.code()).isZero();
        Path dir = tmp.resolve("mixed");
        Path good = BadInputCorpus.goodImage(dir, "cell", 3, 0);
        Path webp = Files.write(dir.resolve("cell.webp"), "RIFF\0\0\0\0WEBPVP8 ".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        Path tiny = BadInputCorpus.write(BadInputCorpus.noise(10, 1), "png", dir.resolve("tiny.png"));
        Path a = Files.createSymbolicLink(tmp.resolve("a.png"), tmp.resolve("b.png"));
        Files.createSymbolicLink(tmp.resolve("b.png"), a);
        WbcCliTest.Result r = WbcCliTest.run("predict", run.toString(), dir.toString(), a.toString(), "--no-progress");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out().lines().skip(1).map(l -> l.split(",")[0]).toList())
                .containsExactly(good.toString(), tiny.toString());
        assertThat(warnings(r)).containsExactlyInAnyOrder(
                "wbc: warning: " + webp + ": unsupported image type (.webp); convert it to PNG or JPEG",
                "wbc: warning: " + tiny + ": only 10x10 pixels, upscaled to 32 px; the prediction may be unreliable",
                "wbc: warning: " + a + ": symbolic link loop");
        assertThat(userError(WbcCliTest.run("explain", run.toString(), a.toString(), "--out", tmp.resolve("o.png").toString())))
                .isEqualTo("wbc: error: " + a + ": symbolic link loop");
    }

    @Test
    void aFolderGivenAsOutIsRefusedBeforeAnyImageIsDecoded() throws Exception {
        assertThat(trained.code()).isZero();
        Path folder = Files.createDirectories(tmp.resolve("results"));
        Path freshCache = tmp.resolve("fresh-cache");
        String split = userError(WbcCliTest.run("split", "--data", corpus.root().toString(), "--out", folder.toString(),
                "--cache-dir", freshCache.toString()));
        assertThat(split).isEqualTo("wbc: error: " + folder + ": is a folder; split --out needs a file name (e.g. "
                + folder.resolve("out.csv") + ")");
        assertThat(freshCache).doesNotExist();
        Path img = corpus.valid().get(0);
        assertThat(userError(WbcCliTest.run("explain", run.toString(), img.toString(), "--out", folder.toString())))
                .isEqualTo("wbc: error: " + folder + ": is a folder; explain --out needs a file name (e.g. "
                        + folder.resolve("out.png") + ")");
        Path csvFolder = Files.createDirectories(tmp.resolve("p.csv"));
        assertThat(userError(WbcCliTest.run("predict", run.toString(), img.toString(), "--out", csvFolder.toString())))
                .startsWith("wbc: error: " + csvFolder + ": is a folder; predict --out needs a file name");
        assertThat(listing(folder)).isEmpty();
        assertThat(listing(csvFolder)).isEmpty();
    }

    @Test
    void explainWritesJpegBytesForAJpgNameAndRefusesOtherTypes() throws Exception {
        assertThat(trained.code()).isZero();
        Path img = corpus.valid().get(0);
        Path jpg = tmp.resolve("overlay.jpg");
        WbcCliTest.Result r = WbcCliTest.run("explain", run.toString(), img.toString(), "--out", jpg.toString(), "--size", "32");
        assertThat(r.code()).as(r.err()).isZero();
        byte[] b = Files.readAllBytes(jpg);
        assertThat(new int[] {b[0] & 0xff, b[1] & 0xff}).containsExactly(0xff, 0xd8);
        assertThat(javax.imageio.ImageIO.read(jpg.toFile()).getWidth()).isEqualTo(32);
        assertThat(userError(WbcCliTest.run("explain", run.toString(), img.toString(), "--out", tmp.resolve("o.gif").toString())))
                .isEqualTo("wbc: error: " + tmp.resolve("o.gif") + ": the overlay is written as PNG (.png) or JPEG (.jpg, .jpeg),"
                        + " not '.gif'");
        assertThat(tmp.resolve("o.gif")).doesNotExist();
    }

    // --- explain ---------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Kind.class)
    void explainDrawsValidImagesAndRefusesBadOnesInOneLine(Kind kind) throws Exception {
        assertThat(trained.code()).isZero();
        Path img = kind.write(tmp.resolve("img"));
        Path overlay = tmp.resolve("overlay.png");
        WbcCliTest.Result r = WbcCliTest.run("explain", run.toString(), img.toString(), "--out", overlay.toString(), "--size", "32");
        if (kind.valid()) {
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(overlay).isRegularFile();
        } else {
            String expected = kind == Kind.NON_IMAGE ? "not a recognised image format" : kind.problem;
            assertThat(userError(r)).startsWith("wbc: error: " + img + ": ").contains(expected);
            assertThat(overlay).doesNotExist();
        }
        assertThat(BadInputCorpus.tempFiles(tmp.resolve("img"))).isEmpty();
    }

    // --- experiment ------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"TRUNCATED_JPEG", "EMPTY", "NON_IMAGE"})
    void strictExperimentStopsAtTheFirstUnusableFileBeforeAnyCellTrains(Kind kind) throws Exception {
        Path data = tmp.resolve("data");
        Path bad = smallDataset(data, kind);
        Path grid = tmp.resolve("grid.yaml");
        Files.writeString(grid, "name: strict-grid\ndata: '" + data + "'\nimageSize: 32\nbatch: 4\n"
                + "subsets: {WBC_100: {seeds: [0], epochs: 1}}\narms: [{name: baseline}]\n");
        Path out = tmp.resolve("out");
        WbcCliTest.Result fresh = WbcCliTest.run("experiment", "--recipe", grid.toString(), "--out", out.toString(),
                "--cache-dir", cache(tmp).toString(), "--no-progress", "--strict");
        assertThat(userError(fresh)).startsWith("wbc: error: " + bad + ": ").contains(kind.problem);
        assertThat(fresh.out()).isEmpty();
        assertThat(out).doesNotExist();

        // A grid started without --strict (here a dry run, which draws the manifest and trains
        // nothing) and rerun with it: the check covers the data of the existing manifest too.
        WbcCliTest.Result dry = WbcCliTest.run("experiment", "--recipe", grid.toString(), "--out", out.toString(),
                "--cache-dir", cache(tmp).toString(), "--dry-run");
        assertThat(dry.code()).as(dry.err()).isZero();
        assertThat(listing(out)).containsExactly("split-seed0.csv");
        WbcCliTest.Result rerun = WbcCliTest.run("experiment", "--recipe", grid.toString(), "--out", out.toString(),
                "--cache-dir", cache(tmp).toString(), "--no-progress", "--strict");
        assertThat(userError(rerun)).startsWith("wbc: error: " + bad + ": ").contains(kind.problem);
        assertThat(listing(out)).containsExactly("split-seed0.csv");
    }

    // --- pretrain --------------------------------------------------------------------------------

    @Test
    void pretrainingOnAnUnlabeledFolderSkipsAndCountsBadFilesOrStopsWhenStrict() throws Exception {
        Path recipe = tmp.resolve("recipe.yaml");
        Files.writeString(recipe, "name: bad-input\nimageSize: 32\nstages:\n"
                + "  - {type: autoencoder, name: ae, data: '" + corpus.root() + "', epochs: 1, batch: 4, lr: 0.001}\n");
        Path strictOut = tmp.resolve("strict");
        WbcCliTest.Result strict = WbcCliTest.run("pretrain", "--recipe", recipe.toString(), "--out", strictOut.toString(),
                "--cache-dir", cache(tmp).toString(), "--no-progress", "--strict");
        assertThat(userError(strict)).startsWith("wbc: error: " + corpus.root().resolve(CLASSES.get(0)) + "/");
        assertThat(strictOut).doesNotExist();

        Path out = tmp.resolve("pre");
        WbcCliTest.Result r = WbcCliTest.run("pretrain", "--recipe", recipe.toString(), "--out", out.toString(),
                "--cache-dir", cache(tmp).toString(), "--no-progress");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode md = new ObjectMapper().readTree(out.resolve("backbone/metadata.json").toFile());
        long undecodable = Stream.of(Kind.values()).filter(Kind::undecodable).count();
        assertThat(md.path("stages").get(0).path("metrics").path("skippedFiles").asLong()).isEqualTo(undecodable);
        assertThat(md.path("stages").get(0).path("images").asInt() + 1 /* held out */)
                .isEqualTo(corpus.valid().size());
        assertThat(BadInputCorpus.tempFiles(out)).isEmpty();
    }
}
