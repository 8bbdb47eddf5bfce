package org.wbctransfer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.BadInputCorpus;
import org.wbctransfer.TestData;
import org.wbctransfer.config.Augmentation;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.Batch;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.Normalization;
import org.wbctransfer.data.SplitData;
import org.wbctransfer.data.SplitManifest;

/**
 * Same seed, same results: split manifests, augmented batches, and whole trainings, including one
 * that is killed (SIGKILL, as by the OOM killer or a pulled plug) after its first checkpoint and
 * resumed.
 *
 * <p>Tolerance: none. Trainings are compared by the bytes of their final weights, and
 * summary.csv, metrics.json and predictions.csv by equality. That holds because every random draw
 * is a function of (seed, epoch, sample) (weights from the seed, shuffling and augmentation from
 * {@link Augmenter#sampleSeed}), a checkpoint holds the exact float32 weights, BatchNorm
 * statistics and AdamW moments and step counts, and libtorch's CPU kernels give the same bits for
 * the same inputs with the same number of threads (all runs here use the default, one per core).
 * Runs on different machines or thread counts agree only to float rounding.
 */
class ReproducibilityTest {

    static final int EPOCHS = 3;

    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    static Path manifest;
    static Path reference;

    static List<String> trainArgs(Path runDir) {
        return List.of("train", "--data", TestData.raabin().toString(), "--manifest", manifest.toString(),
                "--epochs", String.valueOf(EPOCHS), "--image-size", "32", "--batch", "10", "--seed", "7",
                "--val-percent", "20", "--min-val-subset", "10", "--run-dir", runDir.toString(),
                "--cache-dir", shared.resolve("cache").toString(), "--no-progress");
    }

    /** 7 training (1 of them validation) and 2 test images per class of real Raabin-WBC, 3 epochs of 3 steps. */
    @BeforeAll
    static void referenceRun() throws Exception {
        manifest = TestData.manifest(shared, 7, 2);
        reference = shared.resolve("reference");
        WbcCliTest.Result r = WbcCliTest.run(trainArgs(reference).toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
    }

    /** summary.csv without the timing columns (images_per_s, seconds). */
    static List<String> summaryWithoutTimings(Path run) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(RunDir.of(run).summary())) {
            String[] f = line.split(",", -1);
            out.add(String.join(",", List.of(f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[9])));
        }
        return out;
    }

    static void assertSameResults(Path run) throws IOException {
        assertThat(summaryWithoutTimings(run)).hasSize(1 + EPOCHS).isEqualTo(summaryWithoutTimings(reference));
        assertThat(Files.readAllBytes(run.resolve("model/weights.params")))
                .as("final weights, bit for bit").isEqualTo(Files.readAllBytes(reference.resolve("model/weights.params")));
        ObjectMapper json = new ObjectMapper();
        assertThat(json.readTree(run.resolve("eval-test/metrics.json").toFile()))
                .isEqualTo(json.readTree(reference.resolve("eval-test/metrics.json").toFile()));
        assertThat(Files.readAllLines(run.resolve("eval-test/predictions.csv")))
                .isEqualTo(Files.readAllLines(reference.resolve("eval-test/predictions.csv")));
        assertThat(BadInputCorpus.tempFiles(run)).isEmpty();
    }

    @Test
    void theSameSeedGivesTheSameSplitBytes() throws Exception {
        Path data = tmp.resolve("data");
        for (int i = 0; i < 12; i++) {
            BadInputCorpus.goodImage(data.resolve("A"), "a" + i, i, 0);
            BadInputCorpus.goodImage(data.resolve("B"), "b" + i, 100 + i, 1);
        }
        BadInputCorpus.Kind.TRUNCATED_JPEG.write(data.resolve("B"));
        List<byte[]> bytes = new ArrayList<>();
        for (String name : List.of("one.csv", "two.csv")) {
            WbcCliTest.Result r = WbcCliTest.run("split", "--data", data.toString(), "--out", tmp.resolve(name).toString(),
                    "--seed", "9", "--image-size", "32", "--cache-dir", tmp.resolve("cache-" + name).toString());
            assertThat(r.code()).as(r.err()).isZero();
            bytes.add(Files.readAllBytes(tmp.resolve(name)));
        }
        assertThat(bytes.get(1)).isEqualTo(bytes.get(0));
        WbcCliTest.run("split", "--data", data.toString(), "--out", tmp.resolve("other.csv").toString(), "--seed", "10",
                "--image-size", "32", "--cache-dir", tmp.resolve("cache").toString());
        assertThat(Files.readAllBytes(tmp.resolve("other.csv"))).isNotEqualTo(bytes.get(0));
    }

    @Test
    void theSameSeedGivesTheSameAugmentedBatchesWhereverAnEpochStarts() throws Exception {
        SplitManifest m = SplitManifest.read(manifest);
        SplitData data = SplitData.open(TestData.raabin(), m, 32, shared.resolve("cache"));
        List<BatchLoader.Sample> samples = data.samples(m.train("WBC_100"), new ArrayList<>());
        Augmenter aug = new Augmenter(Augmentation.standard(), Normalization.compute(data.pixels(samples)), 32);
        List<float[]> first = new ArrayList<>();
        try (BatchLoader a = new BatchLoader(data.cache(), samples, aug, true, 10)) {
            for (int e = 0; e < 3; e++) {
                for (Iterator<Batch> it = a.epoch(7, e, true); it.hasNext(); ) {
                    first.add(it.next().images());
                }
            }
        }
        // A fresh loader (a resumed process) that starts at epoch 1 sees epochs 1 and 2 identically.
        List<float[]> resumed = new ArrayList<>();
        try (BatchLoader b = new BatchLoader(data.cache(), samples,
                new Augmenter(Augmentation.standard(), Normalization.compute(data.pixels(samples)), 32), true, 10)) {
            for (int e = 1; e < 3; e++) {
                for (Iterator<Batch> it = b.epoch(7, e, true); it.hasNext(); ) {
                    resumed.add(it.next().images());
                }
            }
        }
        int perEpoch = first.size() / 3;
        assertThat(resumed).hasSize(2 * perEpoch);
        for (int i = 0; i < resumed.size(); i++) {
            assertThat(resumed.get(i)).as("batch %d", i).isEqualTo(first.get(perEpoch + i));
        }
        try (BatchLoader c = new BatchLoader(data.cache(), samples, aug, true, 10)) {
            assertThat(c.epoch(8, 0, true).next().images()).isNotEqualTo(first.get(0));
        }
    }

    @Test
    void aRepeatedTrainingGivesIdenticalResults() throws Exception {
        Path again = tmp.resolve("again");
        WbcCliTest.Result r = WbcCliTest.run(trainArgs(again).toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
        assertSameResults(again);
    }

    @Test
    void aTrainingKilledAfterItsFirstCheckpointResumesToTheSameResults() throws Exception {
        Path killed = tmp.resolve("killed");
        Path log = tmp.resolve("child.log");
        Process p = startWbc(trainArgs(killed), log);
        Path last = RunDir.of(killed).last();
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (!Files.exists(last) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(Files.exists(last)).as("first checkpoint; child output:%n%s", Files.readString(log)).isTrue();
        } finally {
            p.destroyForcibly(); // SIGKILL: no shutdown hooks, no finally blocks in the child
            p.waitFor(1, TimeUnit.MINUTES);
        }
        assertThat(p.exitValue()).as("killed, not finished").isEqualTo(137);
        int epochsDone = Files.readAllLines(RunDir.of(killed).summary()).size() - 1;
        assertThat(epochsDone).as("killed mid-run").isBetween(1, EPOCHS - 1);
        assertThat(killed.resolve("model")).doesNotExist();
        // What a kill during a checkpoint write leaves: the temp file beside the intact old one.
        Path stale = Files.write(killed.resolve("checkpoints/.last.ckpt.4242424242.tmp"), new byte[] {1, 2, 3});

        WbcCliTest.Result resumed = WbcCliTest.run("train", "--resume", "--run-dir", killed.toString(), "--no-progress");
        assertThat(resumed.code()).as(resumed.err()).isZero();
        assertThat(stale).doesNotExist();
        assertSameResults(killed);
    }

    /**
     * Runs {@code wbc} in a child JVM (so it can be SIGKILLed) with this JVM's class path and the
     * same engine settings (thread counts), so its results can be compared with in-process runs.
     */
    static Process startWbc(List<String> args, Path log) throws java.io.IOException {
        return start(WbcCli.class, args, log);
    }

    /** {@link #startWbc} with another main class on the same class path. */
    static Process start(Class<?> main, List<String> args, Path log) throws java.io.IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx2g", "-Djava.awt.headless=true", "-Dai.djl.offline=true"));
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("ai.djl."))
                .filter(k -> !k.equals("ai.djl.offline")).sorted()
                .forEach(k -> cmd.add("-D" + k + "=" + System.getProperty(k)));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }
}
