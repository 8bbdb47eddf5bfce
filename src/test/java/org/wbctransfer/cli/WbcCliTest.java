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
