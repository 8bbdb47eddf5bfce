package org.wbctransfer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.BadInputCorpus;
import org.wbctransfer.TestData;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.experiment.ExperimentReport;

/**
 * A {@code wbc experiment} killed with SIGKILL in the middle of its grid (inside the first cell,
 * after that cell's first checkpoint) and rerun with the same command ends with the same
 * results.csv and results.json, and the same weights in every cell, as a grid that was never
 * interrupted. Exact equality, for the reasons given in {@link ReproducibilityTest}.
 */
class ExperimentResumeTest {

    static final int PER_CLASS = 12;

    @TempDir
    Path tmp;

    /** The first 12 images of each Raabin class: a split of 2 test and 10 training images per class. */
    Path smallRaabin() throws Exception {
        Path root = tmp.resolve("data");
        for (String cls : TestData.CLASSES) {
            Files.createDirectories(root.resolve(cls));
            for (String rel : TestData.firstImages(cls, PER_CLASS)) {
                Files.copy(TestData.raabin().resolve(rel), root.resolve(rel));
            }
        }
        return root;
    }

    /** One arm, WBC_50 (5 images per class), 2 seeds of 3 epochs of 3 steps, 32 px. */
    Path grid(Path data) throws Exception {
        Path f = tmp.resolve("grid.yaml");
        Files.writeString(f, "name: resume-grid\ndata: '" + data + "'\nimageSize: 32\nbatch: 10\nsplitSeed: 3\n"
                + "subsets: {WBC_50: {seeds: [0, 1], epochs: 3}}\narms: [{name: baseline}]\n");
        return f;
    }

    List<String> args(Path grid, Path out) {
        return List.of("experiment", "--recipe", grid.toString(), "--out", out.toString(), "--cache-dir",
                tmp.resolve("cache").toString(), "--no-progress");
    }

    /** results.json without its time stamp and the runs' training minutes, with the output folder written as OUT. */
    static JsonNode resultsJson(Path out) throws Exception {
        String text = Files.readString(out.resolve(ExperimentReport.RESULTS_JSON))
                .replace(out.toAbsolutePath().normalize().toString(), "OUT");
        ObjectNode json = (ObjectNode) new ObjectMapper().readTree(text);
        assertThat(json.remove("generated")).as("time stamp").isNotNull();
        for (JsonNode run : json.get("runs")) {
            assertThat(((ObjectNode) run).remove("trainingMinutes").asDouble()).as("a wall time").isPositive();
        }
        return json;
    }

    @Test
    void anExperimentKilledMidGridAndRerunEndsWithTheResultsOfAnUninterruptedOne() throws Exception {
        Path grid = grid(smallRaabin());
        Path reference = tmp.resolve("reference");
        WbcCliTest.Result r = WbcCliTest.run(args(grid, reference).toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
        List<String> cells = List.of("baseline/WBC_50-seed0", "baseline/WBC_50-seed1");
        for (String c : cells) {
            assertThat(RunDir.of(reference.resolve(c)).testMetrics()).isRegularFile();
        }

        Path killed = tmp.resolve("killed");
        Path log = tmp.resolve("child.log");
        // Same engine settings as this JVM, which runs the rest of the grid.
        Process p = ReproducibilityTest.startWbc(args(grid, killed), log);
        Path firstCheckpoint = RunDir.of(killed.resolve(cells.get(0))).last();
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (!Files.exists(firstCheckpoint) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(Files.exists(firstCheckpoint)).as("first checkpoint; child output:%n%s", Files.readString(log))
                    .isTrue();
        } finally {
            p.destroyForcibly(); // SIGKILL: no shutdown hooks, no finally blocks in the child
            p.waitFor(1, TimeUnit.MINUTES);
        }
        assertThat(p.exitValue()).as("killed, not finished").isEqualTo(137);
        int epochsDone = Files.readAllLines(RunDir.of(killed.resolve(cells.get(0))).summary()).size() - 1;
        assertThat(epochsDone).as("killed inside the first cell").isBetween(1, 2);
        assertThat(killed.resolve(cells.get(0)).resolve("model")).doesNotExist();
        assertThat(killed.resolve(cells.get(1))).doesNotExist();
        assertThat(killed.resolve(ExperimentReport.RESULTS_CSV)).doesNotExist();
        // What a kill during a checkpoint write leaves beside the intact old checkpoint; only the
        // resume path clears it, so its absence afterwards also shows the cell was resumed.
        Path stale = Files.write(killed.resolve(cells.get(0)).resolve("checkpoints/.last.ckpt.4242424242.tmp"),
                new byte[] {1, 2, 3});

        WbcCliTest.Result resumed = WbcCliTest.run(args(grid, killed).toArray(String[]::new));
        assertThat(resumed.code()).as(resumed.err()).isZero();
        assertThat(stale).doesNotExist();

        assertThat(Files.readAllLines(killed.resolve(ExperimentReport.RESULTS_CSV)))
                .isEqualTo(Files.readAllLines(reference.resolve(ExperimentReport.RESULTS_CSV)));
        JsonNode json = resultsJson(killed);
        assertThat(json).isEqualTo(resultsJson(reference));
        assertThat(json.path("runs")).hasSize(2);
        assertThat(json.path("missing")).isEmpty();
        for (String c : cells) {
            assertThat(Files.readAllBytes(killed.resolve(c).resolve("model/weights.params"))).as("%s weights", c)
                    .isEqualTo(Files.readAllBytes(reference.resolve(c).resolve("model/weights.params")));
            assertThat(ReproducibilityTest.summaryWithoutTimings(killed.resolve(c))).as("%s summary.csv", c)
                    .hasSize(4).isEqualTo(ReproducibilityTest.summaryWithoutTimings(reference.resolve(c)));
        }
        assertThat(BadInputCorpus.tempFiles(killed)).isEmpty();
    }
}
