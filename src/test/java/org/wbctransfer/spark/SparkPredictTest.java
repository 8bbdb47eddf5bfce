package org.wbctransfer.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;
import org.wbctransfer.cli.WbcCli;
import org.wbctransfer.evaluation.ClassificationMetrics;
import org.wbctransfer.evaluation.EvaluationReport;

/**
 * wbc spark on Spark's local mode against wbc predict and wbc evaluate, on 20 real Raabin images
 * (4 per class, none of them seen in training by the
 * serve tests' tiny model, {@link org.wbctransfer.serve.TestBundle}) and one corrupt file, with a tiny exported model.
 */
class SparkPredictTest {

    @TempDir
    static Path dir;

    static Path bundle;
    static Path input;
    static int threadsBefore;
    static String threadsProperty;

    @BeforeAll
    static void setUp() throws Exception {
        bundle = org.wbctransfer.serve.TestBundle.get();
        input = dir.resolve("input");
        for (String c : TestData.CLASSES) {
            Files.createDirectories(input.resolve(c));
            List<String> files = TestData.firstImages(c, 14); // TinyModel trains on the first 8 and tests on 2
            for (String f : files.subList(10, 14)) {
                Files.copy(TestData.raabin().resolve(f), input.resolve(f));
            }
        }
        Files.writeString(input.resolve("Monocyte/corrupt.jpg"), "not a JPEG at all");
        threadsBefore = ai.djl.pytorch.jni.JniUtils.getNumThreads();
        threadsProperty = System.getProperty(ModelCache.THREADS);
    }

    @AfterAll
    static void restoreThreads() {
        // wbc spark gives libtorch one thread per task; the tests after these keep the JVM's setting.
        ai.djl.pytorch.jni.JniUtils.setNumThreads(threadsBefore);
        if (threadsProperty == null) {
            System.clearProperty(ModelCache.THREADS);
        } else {
            System.setProperty(ModelCache.THREADS, threadsProperty);
        }
        ClassifyPartition.failFirstAttemptAfterOneBatch = false;
    }

    /** One row of a prediction table or CSV: class, probabilities, error. */
    record Answer(String predicted, double[] p, String error) {}

    @Test
    void predictionsEqualWbcPredictImageByImageAndACorruptImageIsAnErrorRow() throws Exception {
        Path predicted = dir.resolve("predict.csv");
        assertThat(WbcCli.run("predict", bundle.toString(), input.toString(), "--out", predicted.toString(),
                "--no-progress")).isZero();
        Map<String, Answer> expected = readCsv(List.of(predicted), false);
        assertThat(expected).hasSize(20);

        Path out = dir.resolve("spark-out");
        int loads = ModelCache.loads();
        assertThat(WbcCli.run("spark", "predict", bundle.toString(), input.toString(), "-o", out.toString(),
                "--format", "csv", "--master", "local[2]", "--batch", "4")).isZero();
        assertThat(ModelCache.loads() - loads).as("models loaded: once per JVM, not per partition").isEqualTo(1);
        List<Path> parts = parts(out);
        assertThat(parts.size()).as("partitions").isGreaterThan(1);
        Map<String, Answer> actual = readCsv(parts, true);
        assertThat(actual).hasSize(21);
        for (Map.Entry<String, Answer> e : expected.entrySet()) {
            Answer a = actual.get(e.getKey());
            assertThat(a).as(e.getKey()).isNotNull();
            assertThat(a.error()).isNull();
            assertThat(a.predicted()).as(e.getKey()).isEqualTo(e.getValue().predicted());
            for (int k = 0; k < a.p().length; k++) {
                assertThat(a.p()[k]).as(e.getKey()).isCloseTo(e.getValue().p()[k], within(1e-5));
            }
        }
        Answer bad = actual.get(input.resolve("Monocyte/corrupt.jpg").toString());
        assertThat(bad.error()).isNotBlank();
        assertThat(bad.predicted()).isNull();

        // An existing table is refused unless --overwrite.
        assertThat(WbcCli.run("spark", "predict", bundle.toString(), input.toString(), "-o", out.toString(),
                "--format", "csv")).isEqualTo(WbcCli.EXIT_USER_ERROR);
    }

    @Test
    void aRetriedTaskStillYieldsEveryRowExactlyOnce() throws Exception {
        Path out = dir.resolve("retry-out");
        ClassifyPartition.failFirstAttemptAfterOneBatch = true;
        int failures = ClassifyPartition.hookFailures();
        try {
            // local[2,2]: two task threads, a task may fail once; the first attempt of partition 0
            // fails after it has produced its first batch of rows.
            assertThat(WbcCli.run("spark", "predict", bundle.toString(), input.toString(), "-o", out.toString(),
                    "--format", "csv", "--master", "local[2,2]", "--batch", "4", "--engine", "torch")).isZero();
        } finally {
            ClassifyPartition.failFirstAttemptAfterOneBatch = false;
        }
        assertThat(ClassifyPartition.hookFailures() - failures).as("the hook failed a task").isEqualTo(1);
        List<String> paths = new ArrayList<>();
        for (Path part : parts(out)) {
            Files.readAllLines(part).stream().skip(1).filter(l -> !l.isBlank()).forEach(l -> paths.add(l.split(",")[0]));
        }
        assertThat(paths).hasSize(21).doesNotHaveDuplicates();
    }

    @Test
    void evaluateGivesWbcEvaluatesMetrics() throws Exception {
        Path sparkOut = dir.resolve("eval-spark");
        Path plainOut = dir.resolve("eval-plain");
        assertThat(WbcCli.run("spark", "evaluate", bundle.toString(), input.toString(), "-o", sparkOut.toString(),
                "--master", "local[2]")).isZero();
        assertThat(WbcCli.run("evaluate", bundle.toString(), "--folder", input.toString(), "-o", plainOut.toString(),
                "--cache-dir", dir.resolve("cache").toString())).isZero();
        ClassificationMetrics s = EvaluationReport.readJson(sparkOut.resolve("metrics.json"));
        ClassificationMetrics p = EvaluationReport.readJson(plainOut.resolve("metrics.json"));
        assertThat(s.confusionMatrix()).isEqualTo(p.confusionMatrix());
        assertThat(s.confusionMatrix().total()).isEqualTo(20);
        assertThat(s.accuracy()).isCloseTo(p.accuracy(), within(1e-9));
        assertThat(s.macroF1()).isCloseTo(p.macroF1(), within(1e-9));
        assertThat(Files.readString(sparkOut.resolve("skipped.txt"))).contains("corrupt.jpg");
        for (String f : List.of("report.txt", "predictions.csv", "confusion.png", "reliability.png", "selective.json")) {
            assertThat(sparkOut.resolve(f)).exists();
        }
    }

    @Test
    void aTableOfPathsIsReadByTheExecutorsAndAMissingFileIsAnErrorRow() throws Exception {
        Path table = dir.resolve("todo.csv");
        List<String> rows = new ArrayList<>(List.of("path,note"));
        rows.add(input.resolve("Basophil").toString() + "/" + TestData.firstImages("Basophil", 11).get(10).split("/")[1] + ",a");
        rows.add(input.resolve("Monocyte/corrupt.jpg") + ",b");
        rows.add(dir.resolve("missing.jpg") + ",c");
        Files.write(table, rows);
        Path out = dir.resolve("table-out");
        assertThat(WbcCli.run("spark", "predict", bundle.toString(), table.toString(), "-o", out.toString(),
                "--format", "csv", "--master", "local[2]")).isZero();
        Map<String, Answer> a = readCsv(parts(out), true);
        assertThat(a).hasSize(3);
        assertThat(a.get(rows.get(1).split(",")[0]).predicted()).isNotNull();
        assertThat(a.get(dir.resolve("missing.jpg").toString()).error()).contains("does not exist");
        assertThat(a.get(input.resolve("Monocyte/corrupt.jpg").toString()).error()).isNotBlank();
    }

    static List<Path> parts(Path out) throws IOException {
        assertThat(out.resolve("_SUCCESS")).exists();
        try (Stream<Path> s = Files.list(out)) {
            return s.filter(p -> p.getFileName().toString().startsWith("part-")).sorted(Comparator.naturalOrder()).toList();
        }
    }

    /**
     * wbc predict's CSV ({@code file,predicted,probability,p_...}) or Spark's part files ({@code
     * path,predicted,probability,p_...,error}, paths as file: URIs), by absolute file path.
     */
    static Map<String, Answer> readCsv(List<Path> files, boolean spark) throws IOException {
        Map<String, Answer> out = new HashMap<>();
        int k = TestData.CLASSES.size();
        for (Path f : files) {
            List<String> lines = Files.readAllLines(f);
            for (String line : lines.subList(1, lines.size())) {
                if (line.isBlank()) {
                    continue;
                }
                String[] v = line.split(",", spark ? 4 + k : 3 + k);
                String path = spark && v[0].startsWith("file:") ? Path.of(URI.create(v[0])).toString()
                        : Path.of(v[0]).toAbsolutePath().toString();
                String error = spark && !v[3 + k].isEmpty() ? v[3 + k] : null;
                double[] p = new double[k];
                if (error == null) {
                    for (int j = 0; j < k; j++) {
                        p[j] = Double.parseDouble(v[3 + j]);
                    }
                }
                out.put(path, new Answer(v[1].isEmpty() ? null : v[1], p, error));
            }
        }
        return out;
    }
}
