package org.wbctransfer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;
import org.wbctransfer.data.SplitManifest;

/** The wbc command end to end on a tiny copy of real Raabin-WBC images. */
class WbcCliTest {

    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {}

    /** Runs the CLI with stdout and stderr captured (picocli's writers and System.out/err alike). */
    static Result run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            // Built after the redirect: picocli binds its writers to the streams of that moment.
            int code = WbcCli.newCommandLine().execute(args);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** 12 real images per class plus one corrupt file named like an image. */
    Path tinyDataset() throws Exception {
        Path root = tmp.resolve("data");
        for (String c : List.of("Basophil", "Eosinophil", "Lymphocyte", "Monocyte", "Neutrophil")) {
            Files.createDirectories(root.resolve(c));
            for (String rel : TestData.firstImages(c, 12)) {
                Files.copy(TestData.raabin().resolve(rel), root.resolve(rel));
            }
        }
        Files.write(root.resolve("Neutrophil/zz-corrupt.jpg"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        return root;
    }

    @Test
    void splitTrainEvaluateOnATinySubsetWithOneBadImage() throws Exception {
        Path data = tinyDataset();
        Path manifest = tmp.resolve("split.csv");
        Result split = run("split", "--data", data.toString(), "--out", manifest.toString(), "--seed", "3",
                "--image-size", "32", "--cache-dir", tmp.resolve("cache").toString());
        assertThat(split.code()).isZero();
        // The corrupt file is decoded, found bad and left out: 12 images per class, floor(2.04) = 2 test each.
        assertThat(split.out()).contains("total").containsPattern("Neutrophil\\s+2\\s+10");
        assertThat(split.err()).contains("wbc: warning: " + data.resolve("Neutrophil/zz-corrupt.jpg") + ": not a recognised image format");
        assertThat(Files.readString(manifest)).contains("# skipped: Neutrophil/zz-corrupt.jpg: not a recognised image format")
                .doesNotContain("zz-corrupt.jpg,");

        Path run = tmp.resolve("run");
        Result train = run("train", "--data", data.toString(), "--manifest", manifest.toString(), "--subset", "WBC_100",
                "--epochs", "2", "--image-size", "32", "--batch", "16", "--run-dir", run.toString(),
                "--cache-dir", tmp.resolve("cache").toString(), "--no-progress");
        assertThat(train.code()).as(train.err()).isZero();
        assertThat(train.out()).contains("accuracy").contains("macro avg");
        for (String f : List.of("config.json", "provenance.json", "summary.csv", "checkpoints/last.ckpt",
                "checkpoints/best.ckpt", "model/weights.params", "model/metadata.json", "eval-test/metrics.json",
                "eval-test/report.txt", "eval-test/confusion.png", "eval-test/predictions.csv")) {
            assertThat(run.resolve(f)).as(f).isRegularFile();
        }
        String provenance = Files.readString(run.resolve("provenance.json"));
        // Recorded in the run, from the manifest's header.
        assertThat(provenance).contains("\"skippedAtSplit\" : [ \"Neutrophil/zz-corrupt.jpg: not a recognised image format\" ]");
        assertThat(Files.readString(run.resolve("model/metadata.json"))).contains("testAccuracy").contains("Not a medical device");
        assertThat(noTempFiles(run)).isTrue();

        Result again = run("train", "--data", data.toString(), "--manifest", manifest.toString(), "--run-dir",
                run.toString(), "--cache-dir", tmp.resolve("cache").toString());
        assertThat(again.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(again.err()).contains("already holds a run");

        Result eval = run("evaluate", run.toString(), "--folder", data.toString(), "--cache-dir",
                tmp.resolve("cache").toString());
        assertThat(eval.code()).as(eval.err()).isZero();
        assertThat(eval.err()).contains("zz-corrupt.jpg").contains("skipped");
        assertThat(run.resolve("eval-data/metrics.json")).isRegularFile();
    }

    @Test
    void missingDataFolderIsAOneLineErrorAndWritesNothing() {
        Path run = tmp.resolve("run");
        Result r = run("train", "--data", tmp.resolve("nope").toString(), "--run-dir", run.toString(),
                "--cache-dir", tmp.resolve("cache").toString());
        assertThat(r.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(r.err().strip().lines().count()).isEqualTo(1);
        assertThat(r.err()).startsWith("wbc: error: ").contains(tmp.resolve("nope").toString()).contains("class-per-folder");
        assertThat(run).doesNotExist();
    }

    @Test
    void unknownSubsetAndMissingManifestAreUserErrors() {
        Result r = run("train", "--subset", "WBC_7", "--run-dir", tmp.resolve("r").toString());
        assertThat(r.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(r.err()).contains("unknown subset 'WBC_7'");
        Result m = run("train", "--manifest", tmp.resolve("missing.csv").toString(), "--run-dir", tmp.resolve("r2").toString(),
                "--cache-dir", tmp.resolve("cache").toString());
        assertThat(m.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(m.err()).contains("missing.csv").contains("not found");
        assertThat(tmp.resolve("r2")).doesNotExist();
    }

    @Test
    void groupedSplitKeepsEachGroupOnOneSideAndPrintsTheRuleBesideIt() throws Exception {
        // 12 real images per class, renamed into four "smears" s0..s3 of three images per class each.
        Path data = tmp.resolve("smears");
        for (String c : List.of("Basophil", "Eosinophil", "Lymphocyte", "Monocyte", "Neutrophil")) {
            Files.createDirectories(data.resolve(c));
            List<String> files = TestData.firstImages(c, 12);
            for (int i = 0; i < files.size(); i++) {
                Files.copy(TestData.raabin().resolve(files.get(i)),
                        data.resolve(c).resolve("s" + i / 3 + "_" + Path.of(files.get(i)).getFileName()));
            }
        }
        Path manifest = tmp.resolve("grouped.csv");
        Result split = run("split", "--data", data.toString(), "--out", manifest.toString(), "--seed", "1",
                "--group-by", "^([^_]+)_", "--image-size", "32", "--cache-dir", tmp.resolve("cache").toString());
        assertThat(split.code()).as(split.err()).isZero();
        // The rule's floor(17 % of 12) = 2 per class; a smear brings 3 of each class, and 3 is nearer 2 than 0 is.
        assertThat(split.out()).containsPattern("Neutrophil\\s+12\\s+3\\s+2\\s+25\\.0%\\s+1/4\\s+9")
                .containsPattern("total\\s+60\\s+15\\s+10\\s+25\\.0%\\s+1/4\\s+45")
                .contains("4 groups by '^([^_]+)_'; 0 image(s) whose name does not match");
        SplitManifest m = SplitManifest.read(manifest);
        assertThat(m.groupBy()).isEqualTo("^([^_]+)_");
        assertThat(Files.readString(manifest)).contains("\n# group-by: ^([^_]+)_\n");
        java.util.Map<String, java.util.Set<Boolean>> sides = new java.util.HashMap<>();
        for (SplitManifest.Entry e : m.entries()) {
            sides.computeIfAbsent(Path.of(e.relativePath()).getFileName().toString().split("_")[0],
                    g -> new java.util.HashSet<>()).add(e.test());
        }
        assertThat(sides).hasSize(4).allSatisfy((g, s) -> assertThat(s).hasSize(1));
    }

    @Test
    void splitRefusesABadGroupByPatternInOneLine() {
        Path manifest = tmp.resolve("never.csv");
        Result r = run("split", "--data", TestData.raabin().toString(), "--out", manifest.toString(),
                "--group-by", "^([^_]+_", "--cache-dir", tmp.resolve("cache").toString());
        assertThat(r.code()).isEqualTo(WbcCli.EXIT_USER_ERROR).isEqualTo(2);
        assertThat(r.err().strip().lines().count()).isEqualTo(1);
        assertThat(r.err()).startsWith("wbc: error: --group-by: '^([^_]+_' is not a valid regular expression (Unclosed group");
        assertThat(manifest).doesNotExist();
        assertThat(tmp.resolve("cache")).doesNotExist();
    }

    @Test
    void aTrainingLeverOutsideItsRangeIsOneLineBeforeAnythingIsWritten() {
        Path run = tmp.resolve("run");
        String[][] cases = {{"--label-smoothing", "0.5", "label smoothing must be in [0, 0.5), got 0.5"},
                {"--mixup", "-1", "mixup alpha must be >= 0 (0 is off), got -1.0"},
                {"--cutmix", "-0.5", "cutmix alpha must be >= 0 (0 is off), got -0.5"},
                {"--ema", "1", "EMA decay must be in [0, 1) (0 is off), got 1.0"}};
        for (String[] c : cases) {
            Result r = run("train", "--manifest", tmp.resolve("split.csv").toString(), "--run-dir", run.toString(),
                    c[0], c[1]);
            assertThat(r.code()).as(c[0]).isEqualTo(WbcCli.EXIT_USER_ERROR);
            assertThat(r.err().strip()).isEqualTo("wbc: error: " + c[2]);
            assertThat(run).doesNotExist();
        }
    }

    @Test
    void everyCommandHasHelp() {
        for (String c : List.of("split", "train", "evaluate")) {
            Result r = run(c, "--help");
            assertThat(r.code()).isZero();
        }
    }

    private static boolean noTempFiles(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp"));
        }
    }
}
