package org.wbctransfer.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.SplitData;
import org.wbctransfer.data.SplitManifest;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.model.Classifier;

/** Short trainings on real Raabin-WBC images. */
class WbcTrainerTest {

    @TempDir
    Path tmp;

    static Path manifest(Path dir, int train, int test) throws Exception {
        return TestData.manifest(dir, train, test);
    }

    TrainConfig config(Path manifest, int size, int batch, int epochs, double lr) {
        return TrainConfig.builder().setData(TestData.raabin(), manifest).setSubset("WBC_100").optImageSize(size)
                .optBatchSize(batch).optEpochs(epochs).optLearningRate(lr).optWarmupEpochs(1.0).optSeed(11)
                .optValidation(0, 1000).optCacheDir(tmp.resolve("cache")).build();
    }

    @Test
    void lossFallsAndHeldOutAccuracyBeatsMajorityClass() throws Exception {
        Path m = manifest(tmp, 48, 16);
        TrainConfig cfg = config(m, 48, 32, 8, 2e-3);
        try (Classifier model = new WbcTrainer(cfg, List.of(), false, false).fit(tmp.resolve("run"), false)) {
            List<String> summary = Files.readAllLines(tmp.resolve("run/summary.csv"));
            assertThat(summary).hasSize(1 + 8);
            double first = Double.parseDouble(summary.get(1).split(",")[2]);
            double last = Double.parseDouble(summary.get(8).split(",")[2]);
            assertThat(last).isLessThan(0.8 * first);

            SplitManifest sm = SplitManifest.read(m);
            SplitData data = SplitData.open(TestData.raabin(), sm, 48, tmp.resolve("cache"));
            List<BatchLoader.Sample> test = data.samples(sm.test(), new ArrayList<>());
            assertThat(test).hasSize(80);
            double acc = Evaluation.run(model, data.cache(), test).metrics().accuracy();
            // Balanced held-out set: always answering one class scores 0.20.
            assertThat(acc).isGreaterThan(0.40);
            assertThat(model.metadata().classes()).isEqualTo(TestData.CLASSES);
            assertThat(Files.exists(tmp.resolve("run/model/weights.params"))).isTrue();
            assertThat(Files.exists(tmp.resolve("run/checkpoints/last.ckpt"))).isTrue();
        }
    }

    @Test
    void resumedRunEndsWhereAnUninterruptedRunEnds() throws Exception {
        Path m = manifest(tmp, 16, 8);
        TrainConfig cfg = config(m, 32, 16, 3, 1e-3);
        float[][] straight;
        SplitManifest sm = SplitManifest.read(m);
        SplitData data = SplitData.open(TestData.raabin(), sm, 32, tmp.resolve("cache"));
        List<BatchLoader.Sample> test = data.samples(sm.test(), new ArrayList<>());
        try (Classifier a = new WbcTrainer(cfg, List.of(), false, false).fit(tmp.resolve("a"), false)) {
            straight = Evaluation.run(a, data.cache(), test).probabilities();
        }
        TrainingListener crash = new TrainingListener() {
            @Override
            public void onEpochEnd(TrainingRun run, EpochResult r) {
                if (r.epoch() == 2) {
                    throw new IllegalStateException("simulated crash");
                }
            }
        };
        assertThatThrownBy(() -> new WbcTrainer(cfg, List.of(crash), false, false).fit(tmp.resolve("b"), false))
                .hasMessageContaining("simulated crash");
        assertThat(Files.readAllLines(tmp.resolve("b/summary.csv"))).hasSize(1 + 2);
        try (Classifier b = new WbcTrainer(cfg, List.of(), false, false).fit(tmp.resolve("b"), true)) {
            // Same seed, same thread count: CPU kernels repeat to float rounding.
            assertSameProbabilities(Evaluation.run(b, data.cache(), test).probabilities(), straight, 1e-4f);
        }
        List<String> a = Files.readAllLines(tmp.resolve("a/summary.csv"));
        List<String> b = Files.readAllLines(tmp.resolve("b/summary.csv"));
        assertThat(b).hasSize(a.size());
        for (int i = 1; i < a.size(); i++) {
            // epoch, lr, train loss, train accuracy agree; timings differ.
            String[] fa = a.get(i).split(",");
            String[] fb = b.get(i).split(",");
            assertThat(fb[0]).isEqualTo(fa[0]);
            assertThat(fb[1]).isEqualTo(fa[1]);
            assertThat(Double.parseDouble(fb[2])).isCloseTo(Double.parseDouble(fa[2]), org.assertj.core.data.Offset.offset(1e-3));
        }
    }

    @Test
    void allThreeLeversTrainRecordTheirSettingsAndResumeWhereTheyStopped() throws Exception {
        Path m = manifest(tmp, 16, 8);
        // A carve-out, so the average is swapped in for validation every epoch; both mixes are drawn.
        TrainConfig cfg = TrainConfig.builder().setData(TestData.raabin(), m).setSubset("WBC_100").optImageSize(32)
                .optBatchSize(16).optEpochs(2).optWarmupEpochs(1.0).optSeed(11).optValidation(20, 10)
                .optCacheDir(tmp.resolve("cache")).optLabelSmoothing(0.1).optMixing(0.4, 1.0).optEmaDecay(0.9).build();
        SplitManifest sm = SplitManifest.read(m);
        SplitData data = SplitData.open(TestData.raabin(), sm, 32, tmp.resolve("cache"));
        List<BatchLoader.Sample> test = data.samples(sm.test(), new ArrayList<>());
        float[][] straight;
        int before = liveArrays();
        try (Classifier a = new WbcTrainer(cfg, List.of(), false, false).fit(tmp.resolve("a"), false)) {
            straight = Evaluation.run(a, data.cache(), test).probabilities();
            assertThat(a.metadata().training().emaDecay()).isEqualTo(0.9);
        }
        assertThat(liveArrays()).as("the average's arrays are freed with the run").isEqualTo(before);
        assertThat(Files.readString(tmp.resolve("a/config.json"))).contains("\"labelSmoothing\" : 0.1,",
                "\"mixup\" : 0.4,", "\"cutmix\" : 1.0,", "\"emaDecay\" : 0.9");
        List<String> a = Files.readAllLines(tmp.resolve("a/summary.csv"));
        assertThat(a).hasSize(1 + 2);
        for (String row : a.subList(1, 3)) {
            String[] f = row.split(",");
            assertThat(Double.parseDouble(f[2])).as("train loss").isFinite().isPositive();
            assertThat(Double.parseDouble(f[4])).as("validation loss").isFinite().isPositive();
        }

        TrainingListener crash = new TrainingListener() {
            @Override
            public void onEpochEnd(TrainingRun run, EpochResult r) {
                throw new IllegalStateException("simulated crash");
            }
        };
        assertThatThrownBy(() -> new WbcTrainer(cfg, List.of(crash), false, false).fit(tmp.resolve("b"), false))
                .hasMessageContaining("simulated crash");
        try (Classifier b = new WbcTrainer(cfg, List.of(), false, false).fit(tmp.resolve("b"), true)) {
            // The raw weights, the average, its step count and the mixing draws all continue.
            assertSameProbabilities(Evaluation.run(b, data.cache(), test).probabilities(), straight, 1e-4f);
        }
        List<String> b = Files.readAllLines(tmp.resolve("b/summary.csv"));
        for (int i = 1; i < a.size(); i++) {
            String[] fa = a.get(i).split(",");
            String[] fb = b.get(i).split(",");
            for (int col : new int[] {2, 4, 6}) { // train loss, validation loss, validation macro F1
                assertThat(Double.parseDouble(fb[col])).isCloseTo(Double.parseDouble(fa[col]),
                        org.assertj.core.data.Offset.offset(1e-3));
            }
        }
    }

    @Test
    void channelsLastTrainingComputesWhatTheDefaultFormatComputes() throws Exception {
        Path m = manifest(tmp, 16, 8);
        // One step per epoch. AdamW's first steps move every weight by about the learning rate
        // whatever the gradient's size, so the few gradients that round to the other sign in
        // other kernels move apart by 2 lr: a tiny rate keeps that below what the assertions
        // resolve, while a layout mix-up (pixels read in the wrong order) would not be.
        TrainConfig cfg = config(m, 32, 16, 2, 1e-5);
        if (!org.wbctransfer.model.Formats.channelsLastIsSound(32)) {
            // This CPU's kernels compute the format wrongly: the trainer refuses it before writing anything.
            assertThatThrownBy(() -> new WbcTrainer(cfg, List.of(), false, true))
                    .isInstanceOf(org.wbctransfer.util.UserException.class).hasMessageStartingWith("--channels-last: ");
            return;
        }
        SplitManifest sm = SplitManifest.read(m);
        SplitData data = SplitData.open(TestData.raabin(), sm, 32, tmp.resolve("cache"));
        List<BatchLoader.Sample> test = data.samples(sm.test(), new ArrayList<>());
        float[][] plain;
        try (Classifier a = new WbcTrainer(cfg, List.of(), false, false).fit(tmp.resolve("a"), false)) {
            plain = Evaluation.run(a, data.cache(), test).probabilities();
        }
        try (Classifier b = new WbcTrainer(cfg, List.of(), false, true).fit(tmp.resolve("b"), false)) {
            assertSameProbabilities(Evaluation.run(b, data.cache(), test).probabilities(), plain, 1e-3f);
        }
        List<String> a = Files.readAllLines(tmp.resolve("a/summary.csv"));
        List<String> b = Files.readAllLines(tmp.resolve("b/summary.csv"));
        // The first epoch's loss is the first batch's, before any update: the same to rounding.
        assertThat(Double.parseDouble(b.get(1).split(",")[2]))
                .isCloseTo(Double.parseDouble(a.get(1).split(",")[2]), org.assertj.core.data.Offset.offset(1e-4));
        assertThat(Double.parseDouble(b.get(2).split(",")[2]))
                .isCloseTo(Double.parseDouble(a.get(2).split(",")[2]), org.assertj.core.data.Offset.offset(1e-3));
        assertThat(Files.readString(tmp.resolve("a/provenance.json"))).contains("\"memoryFormat\" : \"default\"");
        assertThat(Files.readString(tmp.resolve("b/provenance.json"))).contains("\"memoryFormat\" : \"channels-last\"");
    }

    /** Every image's class probabilities within {@code tolerance} of the expected ones. */
    static void assertSameProbabilities(float[][] actual, float[][] expected, float tolerance) {
        assertThat(actual.length).isEqualTo(expected.length);
        for (int i = 0; i < expected.length; i++) {
            for (int k = 0; k < expected[i].length; k++) {
                assertThat(actual[i][k]).as("image %d, class %d", i, k)
                        .isCloseTo(expected[i][k], org.assertj.core.data.Offset.offset(tolerance));
            }
        }
    }

    /** Every native array of the process (the engine's system manager holds them all, through sub-managers). */
    static int liveArrays() {
        try (ai.djl.ndarray.NDManager probe = ai.djl.ndarray.NDManager.newBaseManager()) {
            return probe.getParentManager().getManagedArrays().size();
        }
    }

    @Test
    void epochsThatValidateLeaveNoNativeArraysBehind() throws Exception {
        // Memory soak follow-up (issue 7): an array created outside a step's sub-manager lives
        // until the model is closed, so a leak shows as a count that grows epoch by epoch.
        Path m = manifest(tmp, 10, 2);
        TrainConfig cfg = TrainConfig.builder().setData(TestData.raabin(), m).setSubset("WBC_100").optImageSize(32)
                .optBatchSize(16).optEpochs(5).optWarmupEpochs(1.0).optSeed(11).optValidation(20, 10)
                .optCacheDir(tmp.resolve("cache")).build();
        List<Integer> perEpoch = new ArrayList<>();
        List<Double> valLoss = new ArrayList<>();
        TrainingListener count = new TrainingListener() {
            @Override
            public void onEpochEnd(TrainingRun run, EpochResult r) {
                perEpoch.add(liveArrays());
                valLoss.add(r.valLoss());
            }
        };
        int before = liveArrays();
        try (Classifier model = new WbcTrainer(cfg, List.of(count), false, false).fit(tmp.resolve("run"), false)) {
            assertThat(valLoss).as("validated every epoch").hasSize(5).allMatch(Double::isFinite);
            // The first step creates AdamW's moments; from then on the set of arrays is fixed.
            assertThat(perEpoch.subList(1, 5)).containsOnly(perEpoch.get(0));
            float[] images = new float[8 * 3 * 32 * 32];
            model.probabilities(images, 8, 32);
            int afterOne = liveArrays();
            for (int i = 0; i < 20; i++) {
                model.probabilities(images, 8, 32, i % 2 == 0);
            }
            assertThat(liveArrays()).isEqualTo(afterOne);
        }
        // A grid trains many models in one process: closing one releases all it created.
        assertThat(liveArrays()).isEqualTo(before);
    }

    @Test
    void classWeightsBalanceClassesAsNOverKNc() {
        // 10 images: 1, 2, 7 per class -> 10/3, 10/6, 10/21.
        float[] w = WeightedCrossEntropy.balancedWeights(new int[] {1, 2, 7});
        assertThat(w[0]).isCloseTo(10f / 3, org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(w[1]).isCloseTo(10f / 6, org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(w[2]).isCloseTo(10f / 21, org.assertj.core.data.Offset.offset(1e-6f));
    }

    @Test
    void weightedCrossEntropyMatchesHandComputedValue() {
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
            // logits rows [0, 0] (label 0) and [ln 3, 0] (label 1); weights [1, 3].
            // nll = [ln 2, ln 4]; weighted mean = (1*ln2 + 3*ln4) / (1 + 3) = 7 ln2 / 4.
            var logits = m.create(new float[] {0f, 0f, (float) Math.log(3), 0f}, new ai.djl.ndarray.types.Shape(2, 2));
            var labels = m.create(new int[] {0, 1});
            float v = new WeightedCrossEntropy(new float[] {1f, 3f})
                    .evaluate(new ai.djl.ndarray.NDList(labels), new ai.djl.ndarray.NDList(logits)).getFloat();
            assertThat((double) v).isCloseTo(7 * Math.log(2) / 4, org.assertj.core.data.Offset.offset(1e-5));
        }
    }

    @Test
    void scheduleWarmsUpLinearlyThenDecaysByCosine() {
        WarmupCosine s = new WarmupCosine(1e-3, 10, 110, 0.01, id -> 1.0);
        assertThat(s.at(5)).isCloseTo(5e-4, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(s.at(10)).isCloseTo(1e-3, org.assertj.core.data.Offset.offset(1e-12));
        // Halfway through the decay: floor + (peak - floor) / 2.
        assertThat(s.at(60)).isCloseTo(1e-5 + (1e-3 - 1e-5) / 2, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(s.at(110)).isCloseTo(1e-5, org.assertj.core.data.Offset.offset(1e-12));
    }

    @Test
    void validationCarveOutIsStratifiedAndDisjoint() throws Exception {
        SplitManifest sm = SplitManifest.read(manifest(tmp, 40, 0));
        WbcTrainer.Partition p = WbcTrainer.partition(sm, "WBC_100", 10, 100, 5);
        assertThat(p.validation()).hasSize(20); // floor(10 % of 40) = 4 per class
        assertThat(p.train()).hasSize(180);
        assertThat(p.train()).doesNotContainAnyElementsOf(p.validation());
        WbcTrainer.Partition small = WbcTrainer.partition(sm, "WBC_100", 10, 1000, 5);
        assertThat(small.validation()).isEmpty();
        assertThat(small.selection()).contains("last epoch");
    }
}
