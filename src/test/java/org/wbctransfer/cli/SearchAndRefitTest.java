package org.wbctransfer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.ImageCache;
import org.wbctransfer.data.SplitManifest;
import org.wbctransfer.experiment.ExperimentReport;
import org.wbctransfer.experiment.SearchTable;
import org.wbctransfer.model.Provenance;
import org.wbctransfer.training.WbcTrainer;
import org.wbctransfer.util.Json;

/**
 * Issue 22: a search ({@code search: true}) trains and ranks its cells without opening a single
 * test image, and a refit arm retrains a cell on its whole budget for the epoch its carve-out chose.
 * Tiny real trainings: 10 Raabin images per class (9 train, 1 validation), 32 px, 2-3 epochs.
 */
class SearchAndRefitTest {

    static final int TRAIN = 10;

    @TempDir
    Path tmp;

    /**
     * The split manifest of a grid in {@code out} (split seed 0): the first 10 images of each class
     * train (WBC_100); each class's 2 test rows name real images, or, with {@code missingTest},
     * files that do not exist.
     */
    static List<String> writeManifest(Path out, boolean missingTest) throws Exception {
        List<SplitManifest.Entry> entries = new ArrayList<>();
        List<String> train = new ArrayList<>();
        for (String c : TestData.CLASSES) {
            List<String> files = TestData.firstImages(c, TRAIN + 2);
            for (int i = 0; i < files.size(); i++) {
                boolean test = i >= TRAIN;
                String path = test && missingTest ? c + "/no-such-test-image-" + i + ".jpg" : files.get(i);
                entries.add(new SplitManifest.Entry(path, c, test, test ? Integer.MAX_VALUE : 100));
                if (!test) {
                    train.add(path);
                }
            }
        }
        Files.createDirectories(out);
        new SplitManifest(0, TestData.CLASSES, entries).write(out.resolve("split-seed0.csv"));
        train.sort(java.util.Comparator.naturalOrder());
        return train;
    }

    Path grid(String name, String extra, String arms) throws Exception {
        Path f = tmp.resolve(name + ".yaml");
        Files.writeString(f, "name: " + name + "\ndata: '" + TestData.raabin() + "'\nimageSize: 32\nbatch: 10\n" + extra
                + "subsets: {WBC_100: {seeds: [0], epochs: 3}}\narms:\n" + arms);
        return f;
    }

    WbcCliTest.Result experiment(Path grid, Path out) {
        return WbcCliTest.run("experiment", "--recipe", grid.toString(), "--out", out.toString(), "--cache-dir",
                tmp.resolve("cache").toString(), "--no-progress");
    }

    static final String TWO_ARMS = "  - {name: baseline}\n  - {name: slow, lr: 0.0001, classWeighted: false}\n";

    @Test
    void aSearchRanksItsCellsOnValidationAloneAndNeverOpensATestImage() throws Exception {
        Path out = tmp.resolve("search");
        List<String> trainPaths = writeManifest(out, true);
        WbcCliTest.Result r = experiment(grid("s", "search: true\nminValSubset: 20\n", TWO_ARMS), out);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("no test image read");

        for (String cell : List.of("baseline/WBC_100-seed0", "slow/WBC_100-seed0")) {
            RunDir run = RunDir.of(out.resolve(cell));
            assertThat(run.model().resolve("weights.params")).isRegularFile();
            assertThat(run.testEval()).doesNotExist();
            Provenance p = Json.read(run.provenance(), Provenance.class);
            assertThat(p.testSplit()).isEqualTo(WbcTrainer.TEST_NOT_READ);
            // The missing test files were never looked at: nothing was even found unreadable.
            assertThat(p.skippedTestImages()).isEmpty();
            assertThat(p.skippedCount()).isZero();
            assertThat(p.trainImages()).isEqualTo(45);
            assertThat(p.validationImages()).isEqualTo(5);
        }
        // The one image cache written holds the 50 training images and nothing else.
        try (Stream<Path> files = Files.list(tmp.resolve("cache"))) {
            assertThat(files.toList()).containsExactly(ImageCache.file(TestData.raabin(), trainPaths, 32,
                    tmp.resolve("cache")));
        }
        // No test report: the ranked table instead.
        assertThat(out.resolve(ExperimentReport.RESULTS_CSV)).doesNotExist();
        List<String> csv = Files.readAllLines(out.resolve(SearchTable.CSV));
        assertThat(csv.get(0)).isEqualTo("rank,arm,subset,split,seed,val_macro_f1,val_accuracy,best_epoch,epochs,minutes,"
                + "train_images,val_images,settings");
        assertThat(csv).hasSize(3);
        List<String[]> rows = csv.subList(1, 3).stream().map(l -> l.split(",", 13)).toList();
        assertThat(rows).extracting(f -> f[0]).containsExactly("1", "2");
        assertThat(rows).extracting(f -> f[1]).containsExactlyInAnyOrder("baseline", "slow");
        double first = Double.parseDouble(rows.get(0)[5]);
        double second = Double.parseDouble(rows.get(1)[5]);
        assertThat(first).isGreaterThanOrEqualTo(second).isBetween(0.0, 1.0);
        if (first == second) {
            assertThat(Double.parseDouble(rows.get(0)[6])).isGreaterThanOrEqualTo(Double.parseDouble(rows.get(1)[6]));
        }
        for (String[] f : rows) {
            assertThat(f[2]).isEqualTo("WBC_100");
            assertThat(f[3]).isEqualTo("0");
            assertThat(f[4]).isEqualTo("0");
            assertThat(Integer.parseInt(f[7])).isBetween(1, 3);
            assertThat(f[8]).isEqualTo("3");
            assertThat(Double.parseDouble(f[9])).isPositive();
            assertThat(f[10]).isEqualTo("45");
            assertThat(f[11]).isEqualTo("5");
            // The figures are those of the kept epoch's summary.csv row.
            List<String> summary = Files.readAllLines(out.resolve(f[1] + "/WBC_100-seed0/summary.csv"));
            String[] kept = summary.get(Integer.parseInt(f[7])).split(",");
            assertThat(Double.parseDouble(kept[6])).isEqualTo(Double.parseDouble(f[5]));
            assertThat(Double.parseDouble(kept[5])).isEqualTo(Double.parseDouble(f[6]));
        }
        assertThat(rows).filteredOn(f -> f[1].equals("baseline")).extracting(f -> f[12]).containsExactly("defaults");
        assertThat(rows).filteredOn(f -> f[1].equals("slow")).extracting(f -> f[12])
                .containsExactly("\"lr: 1.0E-4, classWeighted: false\"");
        assertThat(Files.readString(out.resolve(SearchTable.MD))).contains("| rank | arm |").contains("No test image");

        // evaluate --validation scores a candidate on its carve-out, again without a test image,
        // and finds the figures its training kept (here with the eight-view average too).
        Path cell = out.resolve("baseline/WBC_100-seed0");
        WbcCliTest.Result v = WbcCliTest.run("evaluate", cell.toString(), "--validation");
        assertThat(v.code()).as(v.err()).isZero();
        String[] keptRow = Files.readAllLines(cell.resolve("summary.csv")).get(Integer.parseInt(
                rows.stream().filter(f -> f[1].equals("baseline")).findFirst().orElseThrow()[7])).split(",");
        com.fasterxml.jackson.databind.JsonNode m = Json.MAPPER.readTree(
                cell.resolve("eval-validation").resolve(RunDir.METRICS).toFile());
        assertThat(m.get("macroF1").asDouble()).isCloseTo(Double.parseDouble(keptRow[6]),
                org.assertj.core.api.Assertions.within(1e-5));
        assertThat(m.get("accuracy").asDouble()).isCloseTo(Double.parseDouble(keptRow[5]),
                org.assertj.core.api.Assertions.within(1e-5));
        assertThat(v.out()).contains("on the validation carve-out (5 images)");
        WbcCliTest.Result vt = WbcCliTest.run("evaluate", cell.toString(), "--validation", "--tta");
        assertThat(vt.code()).as(vt.err()).isZero();
        assertThat(cell.resolve("eval-validation-tta").resolve(RunDir.METRICS)).isRegularFile();
        assertThat(RunDir.of(cell).testEval()).doesNotExist();

        // The same grid as one that tests: the same test rows fail it once training is done.
        Path tested = tmp.resolve("tested");
        writeManifest(tested, true);
        WbcCliTest.Result t = experiment(grid("t", "minValSubset: 20\n", "  - {name: baseline}\n"), tested);
        assertThat(t.code()).isNotZero();
        assertThat(t.err()).contains("no readable test images");

        // A grid that tests will not test the search's candidates in its folder either.
        WbcCliTest.Result again = experiment(grid("t2", "minValSubset: 20\n", "  - {name: baseline}\n"), out);
        assertThat(again.code()).isNotZero();
        assertThat(again.err()).contains("trained by a search, which never reads the test split");
        assertThat(RunDir.of(out.resolve("baseline/WBC_100-seed0")).testEval()).doesNotExist();
    }

    @Test
    void aSearchRefusesABudgetWithoutACarveOutBeforeAnyCellTrains() throws Exception {
        Path out = tmp.resolve("floor");
        writeManifest(out, true);
        WbcCliTest.Result r = experiment(grid("f", "search: true\n", "  - {name: baseline}\n"), out);
        assertThat(r.code()).isNotZero();
        assertThat(r.err().strip()).contains("search: budget WBC_100 of split 0 has 50 training images, below the"
                + " validation floor of 1000 (minValSubset): no validation carve-out to rank on");
        assertThat(out.resolve("baseline")).doesNotExist();
    }

    @Test
    void aRefitTrainsOnTheWholeBudgetForTheEpochTheCarveOutChose() throws Exception {
        Path out = tmp.resolve("refit");
        writeManifest(out, false);
        WbcCliTest.Result r = experiment(grid("r", "minValSubset: 20\n",
                "  - {name: baseline, lr: 0.002}\n  - {name: baseline-refit, refit: baseline}\n"), out);
        assertThat(r.code()).as(r.err()).isZero();
        RunDir source = RunDir.of(out.resolve("baseline/WBC_100-seed0"));
        RunDir refit = RunDir.of(out.resolve("baseline-refit/WBC_100-seed0"));
        int best = Json.read(source.model().resolve("metadata.json"), org.wbctransfer.model.ModelMetadata.class)
                .provenance().bestEpoch();
        TrainConfig sc = Json.read(source.config(), TrainConfig.class);
        TrainConfig rc = Json.read(refit.config(), TrainConfig.class);
        assertThat(sc.refit()).isNull();
        assertThat(rc.refit()).isEqualTo("epoch " + best + " of 3, the best validation macro F1 of "
                + source.root().toAbsolutePath().normalize());
        assertThat(rc.epochs()).isEqualTo(best);
        assertThat(rc.valPercent()).isZero();
        assertThat(rc.learningRate()).isEqualTo(0.002);
        assertThat(rc.seed()).isEqualTo(sc.seed());
        Provenance sp = Json.read(source.provenance(), Provenance.class);
        Provenance rp = Json.read(refit.provenance(), Provenance.class);
        assertThat(sp.trainImages()).isEqualTo(45);
        assertThat(sp.validationImages()).isEqualTo(5);
        // Carve-out included: 45 + 5.
        assertThat(rp.trainImages()).isEqualTo(50);
        assertThat(rp.validationImages()).isZero();
        assertThat(rp.modelSelection()).contains("refit").contains("50 images").contains("no validation figures");
        assertThat(rp.testSplit()).isNull();
        List<String> summary = Files.readAllLines(refit.summary());
        assertThat(summary).hasSize(best + 1);
        assertThat(summary.get(best).split(",", -1)[6]).isEmpty(); // no validation macro F1
        // A refit has no carve-out to score.
        WbcCliTest.Result v = WbcCliTest.run("evaluate", refit.root().toString(), "--validation");
        assertThat(v.code()).isEqualTo(2);
        assertThat(v.err().strip()).endsWith("trained without a validation carve-out (a refit on the whole budget);"
                + " nothing to evaluate with --validation");
        // Both models were tested, once each.
        assertThat(source.testMetrics()).isRegularFile();
        assertThat(refit.testMetrics()).isRegularFile();
    }
}
