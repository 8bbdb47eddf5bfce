package org.wbctransfer.pretrain;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.model.BackboneBundle;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ResNet18;
import org.wbctransfer.model.ResNetBackbone;
import org.wbctransfer.training.WbcTrainer;

/** A tissue pre-training chain on real PCam patches, its resume, and fine-tuning from its bundle. */
class TissueAndFineTuneTest {

    @TempDir
    Path tmp;

    Recipe tinyTissue() {
        return new Recipe("tiny", 32, List.of(new Recipe.StageSpec(StageKind.TISSUE, "camelyon",
                TestData.datasets().resolve("pcam-camelyon16").toString(), 2, 16, 1e-3, 64)));
    }

    static List<float[]> arrays(ai.djl.nn.Block b) {
        List<float[]> out = new ArrayList<>();
        for (Pair<String, Parameter> p : b.getParameters()) {
            out.add(p.getValue().getArray().toFloatArray());
        }
        return out;
    }

    static boolean same(List<float[]> a, List<float[]> b) {
        for (int i = 0; i < a.size(); i++) {
            if (!java.util.Arrays.equals(a.get(i), b.get(i))) {
                return false;
            }
        }
        return true;
    }

    @Test
    void chainWritesBundlesRecordsTheStageAndResumesWithoutRetraining() throws Exception {
        Path out = tmp.resolve("pre");
        Path bundle = Pretrainer.run(tinyTissue(), out, 4, 32, tmp.resolve("cache"), false, false);
        BackboneBundle.Metadata md = BackboneBundle.readMetadata(bundle);
        assertThat(md.stages()).hasSize(1);
        BackboneBundle.Stage s = md.stages().get(0);
        assertThat(s.type()).isEqualTo("tissue");
        assertThat(s.images()).isEqualTo(64);
        assertThat((Double) s.metrics().get("valAccuracy")).isBetween(0.0, 1.0);
        assertThat(s.metrics()).containsKey("testAccuracy");
        assertThat(Files.readAllLines(out.resolve("1-camelyon/summary.csv"))).hasSize(1 + 2);
        List<float[]> first;
        try (Model m = Model.newInstance("a")) {
            first = arrays(BackboneBundle.load(bundle, m.getNDManager(), 32));
        }

        long t0 = System.nanoTime();
        Pretrainer.run(tinyTissue(), out, 4, 32, tmp.resolve("cache"), false, false);
        assertThat((System.nanoTime() - t0) / 1e9).isLessThan(s.seconds());
        try (Model m = Model.newInstance("b")) {
            assertThat(same(arrays(BackboneBundle.load(bundle, m.getNDManager(), 32)), first)).isTrue();
        }
    }

    @Test
    void aChainBesideAnotherWithTheSamePrefixCopiesItsFinishedStagesInsteadOfTrainingThem() throws Exception {
        Path a = tmp.resolve("pretrain/a-seed4");
        Pretrainer.run(tinyTissue(), a, 4, 32, tmp.resolve("cache"), false, false);
        List<float[]> first;
        try (Model m = Model.newInstance("a")) {
            first = arrays(BackboneBundle.load(a.resolve("1-camelyon/backbone"), m.getNDManager(), 32));
        }
        // Another recipe beside it: the same first stage, then a second one.
        Recipe longer = new Recipe("longer", 32, List.of(tinyTissue().stages().get(0),
                new Recipe.StageSpec(StageKind.TISSUE, "again", TestData.datasets().resolve("pcam-camelyon16").toString(),
                        1, 16, 1e-3, 32)));
        // A file only the finished folder holds: a copy carries it, a retrained stage would not.
        Files.writeString(a.resolve("1-camelyon/marker.txt"), "from a");
        Path b = tmp.resolve("pretrain/b-seed4");
        Path bundle = Pretrainer.run(longer, b, 4, 32, tmp.resolve("cache"), false, false);
        assertThat(b.resolve("1-camelyon/marker.txt")).hasContent("from a");
        assertThat(Files.readString(b.resolve("1-camelyon/chain.sha256")))
                .isEqualTo(Files.readString(a.resolve("1-camelyon/chain.sha256")));
        assertThat(Files.readAllLines(b.resolve("1-camelyon/summary.csv")))
                .isEqualTo(Files.readAllLines(a.resolve("1-camelyon/summary.csv")));
        try (Model m = Model.newInstance("b")) {
            assertThat(same(arrays(BackboneBundle.load(b.resolve("1-camelyon/backbone"), m.getNDManager(), 32)), first))
                    .isTrue();
        }
        BackboneBundle.Metadata md = BackboneBundle.readMetadata(bundle);
        assertThat(md.stages()).extracting(BackboneBundle.Stage::name).containsExactly("camelyon", "again");
        assertThat(b.resolve("2-again/backbone")).isDirectory();

        // Another seed or size is another chain: nothing is copied.
        Path c = tmp.resolve("pretrain/c-seed5");
        Pretrainer.run(tinyTissue(), c, 5, 32, tmp.resolve("cache"), false, false);
        assertThat(c.resolve("1-camelyon/marker.txt")).doesNotExist();
        try (Model m = Model.newInstance("c")) {
            assertThat(same(arrays(BackboneBundle.load(c.resolve("1-camelyon/backbone"), m.getNDManager(), 32)), first))
                    .isFalse();
        }
    }

    private TrainConfig.Builder fineTune(Path manifest, Path bundle) {
        return TrainConfig.builder().setData(TestData.raabin(), manifest).setSubset("WBC_100").optImageSize(32)
                .optBatchSize(16).optEpochs(2).optWarmupEpochs(0.0).optSeed(1).optValidation(0, 1000)
                .optCacheDir(tmp.resolve("cache")).optInit(bundle, 0.1);
    }

    @Test
    void fineTuningWithAFrozenBackboneKeepsItsWeightsAndBatchNormStatistics() throws Exception {
        Path bundle = Pretrainer.run(tinyTissue(), tmp.resolve("pre"), 4, 32, tmp.resolve("cache"), false, false);
        List<float[]> before;
        try (Model m = Model.newInstance("b")) {
            before = arrays(BackboneBundle.load(bundle, m.getNDManager(), 32));
        }
        Path manifest = TestData.manifest(tmp, 8, 2);
        TrainConfig frozen = fineTune(manifest, bundle).optFreeze(ResNet18.BACKBONE_STAGES, 2).build();
        try (Classifier c = new WbcTrainer(frozen, List.of(), false, false).fit(tmp.resolve("frozen"), false)) {
            ResNetBackbone bb = ResNet18.backboneOf(c.block());
            // Running means/variances included: frozen BatchNorm layers ran in inference mode.
            assertThat(same(arrays(bb), before)).isTrue();
            assertThat(Files.readString(tmp.resolve("frozen/provenance.json"))).contains("\"type\" : \"tissue\"");
        }
        TrainConfig free = fineTune(manifest, bundle).build();
        try (Classifier c = new WbcTrainer(free, List.of(), false, false).fit(tmp.resolve("free"), false)) {
            assertThat(same(arrays(ResNet18.backboneOf(c.block())), before)).isFalse();
        }
    }
}
