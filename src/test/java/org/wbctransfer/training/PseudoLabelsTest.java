package org.wbctransfer.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.SplitData;
import org.wbctransfer.data.SplitManifest;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.util.UserException;

/** Self-training on real Raabin images: which images are pooled, which teachers are refused, what is kept. */
class PseudoLabelsTest {

    @TempDir
    static Path tmp;

    static Path manifest;
    static Path teacher10;
    static Path teacher100;

    /** Per class: 4 images in WBC_10 (labelled), 6 more in WBC_100 only (the pool), 2 test images. */
    @BeforeAll
    static void setUp() throws Exception {
        List<SplitManifest.Entry> entries = new ArrayList<>();
        for (String c : TestData.CLASSES) {
            List<String> files = TestData.firstImages(c, 12);
            for (int i = 0; i < files.size(); i++) {
                boolean test = i >= 10;
                entries.add(new SplitManifest.Entry(files.get(i), c, test, test ? Integer.MAX_VALUE : i < 4 ? 10 : 100));
            }
        }
        manifest = tmp.resolve("manifest.csv");
        new SplitManifest(1, TestData.CLASSES, entries).write(manifest);
        teacher10 = train("WBC_10", null, 0, "teacher10");
        teacher100 = train("WBC_100", null, 0, "teacher100");
    }

    static TrainConfig config(String subset, Path teacher, double threshold) {
        return TrainConfig.builder().setData(TestData.raabin(), manifest).setSubset(subset).optImageSize(32)
                .optBatchSize(10).optEpochs(2).optWarmupEpochs(0.0).optSeed(3).optValidation(0, 1000)
                .optCacheDir(tmp.resolve("cache")).optPseudoLabels(teacher, threshold).build();
    }

    static Path train(String subset, Path teacher, double threshold, String name) throws Exception {
        Path run = tmp.resolve(name);
        try (Classifier c = new WbcTrainer(config(subset, teacher, threshold), List.of(), false, false).fit(run, false)) {
            return RunDir.of(run).model();
        }
    }

    static SplitData data() throws Exception {
        SplitManifest m = SplitManifest.read(manifest);
        return SplitData.open(TestData.raabin(), m, 32, tmp.resolve("cache"));
    }

    @Test
    void poolIsTheTrainingImagesOutsideTheSubsetAndNeverTest() throws Exception {
        SplitManifest m = SplitManifest.read(manifest);
        List<SplitManifest.Entry> pool = PseudoLabels.pool(m, "WBC_10");
        assertThat(pool).hasSize(30).noneMatch(SplitManifest.Entry::test).noneMatch(e -> e.inSubset("WBC_10"));
        assertThat(m.countPerClass(pool)).containsExactly(6, 6, 6, 6, 6);
        assertThat(PseudoLabels.pool(m, "WBC_100")).isEmpty();
    }

    @Test
    void keepsTheTeachersConfidentPredictionsWithItsLabels() throws Exception {
        SplitData data = data();
        List<BatchLoader.Sample> pool = data.samples(PseudoLabels.pool(data.manifest(), "WBC_10"), new ArrayList<>());
        float[][] probs;
        try (Classifier t = Classifier.load(teacher10)) {
            probs = Evaluation.run(t, data.cache(), pool).probabilities();
        }
        // A threshold between the pool's lowest and highest confidence keeps some, not all.
        double[] top = new double[pool.size()];
        for (int i = 0; i < pool.size(); i++) {
            top[i] = probs[i][Classifier.argMax(probs[i])];
        }
        double threshold = java.util.Arrays.stream(top).sorted().toArray()[pool.size() / 2];
        PseudoLabels.Result r = PseudoLabels.label(teacher10, data, "WBC_10", 32, threshold, new ArrayList<>());

        int expected = 0;
        int agree = 0;
        for (int i = 0; i < pool.size(); i++) {
            if (top[i] >= threshold) {
                expected++;
                int label = Classifier.argMax(probs[i]);
                assertThat(r.samples()).contains(new BatchLoader.Sample(pool.get(i).cacheIndex(), label));
                agree += label == pool.get(i).label() ? 1 : 0;
            }
        }
        assertThat(expected).isBetween(15, 29);
        assertThat(r.samples()).hasSize(expected);
        assertThat(r.provenance()).containsEntry("poolImages", 30).containsEntry("keptImages", expected)
                .containsEntry("keptAgreeingWithHiddenLabels", agree / (double) expected);
        assertThat(java.util.Arrays.stream((int[]) r.provenance().get("keptPerClass")).sum()).isEqualTo(expected);

        assertThat(PseudoLabels.label(teacher10, data, "WBC_10", 32, 0, new ArrayList<>()).samples()).hasSize(30);
    }

    @Test
    void refusesTeachersThatSawMoreLabelsOrAnotherSplitOrSize() throws Exception {
        SplitData data = data();
        assertThatThrownBy(() -> PseudoLabels.label(teacher100, data, "WBC_10", 32, 0.9, new ArrayList<>()))
                .isInstanceOf(UserException.class).hasMessageContaining("teacher100").hasMessageContaining("WBC_100, more labels");
        assertThatThrownBy(() -> PseudoLabels.label(teacher10, data, "WBC_10", 48, 0.9, new ArrayList<>()))
                .isInstanceOf(UserException.class).hasMessageContaining("32 px, the student at 48");
        SplitManifest other = new SplitManifest(2, data.manifest().classNames(), data.manifest().entries());
        Path otherFile = tmp.resolve("other.csv");
        other.write(otherFile);
        SplitData otherData = SplitData.open(TestData.raabin(), SplitManifest.read(otherFile), 32, tmp.resolve("cache"));
        assertThatThrownBy(() -> PseudoLabels.label(teacher10, otherData, "WBC_10", 32, 0.9, new ArrayList<>()))
                .isInstanceOf(UserException.class).hasMessageContaining("another split manifest");
    }

    @Test
    void studentTrainsOnLabelledPlusPseudoLabelledImagesAndRecordsIt() throws Exception {
        Path student = train("WBC_10", teacher10, 0, "student");
        JsonNode p = new ObjectMapper().readTree(student.getParent().resolve("provenance.json").toFile());
        assertThat(p.get("trainImages").asInt()).isEqualTo(20 + 30);
        assertThat(p.at("/pseudoLabels/keptImages").asInt()).isEqualTo(30);
        assertThat(p.at("/pseudoLabels/teacher").asText()).isEqualTo(teacher10.toString());
        int[] perClass = new int[5];
        p.get("trainImagesPerClass").forEach(n -> perClass[0] += n.asInt());
        assertThat(perClass[0]).isEqualTo(50);
        assertThat(student.getParent().resolve("config.json")).content().contains("\"pseudoThreshold\" : 0.0");
    }
}
