package org.wbctransfer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.Normalization;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;

class GroupNormTest {

    @TempDir
    Path tmp;

    /**
     * One image (1, 4, 1, 2) in 2 groups. Group 0 holds channels 0 and 1, values 1, 2, 3, 4:
     * mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25, so (x - 2.5) / sqrt(1.25 + 1e-5) =
     * -1.3416354, -0.4472118, 0.4472118, 1.3416354. Group 1 holds 0, 0, 0, 8: mean 2, variance
     * (4 + 4 + 4 + 36) / 4 = 12, so -0.5773500 three times and 1.7320501. Then per channel gamma
     * (1, 2, 0.5, -1) and beta (0, 1, 0, 3).
     */
    @Test
    void normalisesEachGroupOfEachImageByItsOwnStatisticsThenScalesEachChannel() {
        try (NDManager m = NDManager.newBaseManager()) {
            float[] image = {1, 2, 3, 4, 0, 0, 0, 8};
            // The second image is the first times 10 plus 5: its own statistics undo that, but for
            // eps, which weighs 100 times less against its variances (125 and 1200).
            float[] both = new float[16];
            for (int i = 0; i < 8; i++) {
                both[i] = image[i];
                both[8 + i] = image[i] * 10 + 5;
            }
            NDArray x = m.create(both, new Shape(2, 4, 1, 2));
            NDArray gamma = m.create(new float[] {1, 2, 0.5f, -1});
            NDArray beta = m.create(new float[] {0, 1, 0, 3});
            NDArray y = GroupNorm.groupNorm(x, gamma, beta, 2, 1e-5f);
            assertThat(y.getShape()).isEqualTo(new Shape(2, 4, 1, 2));
            float[] out = y.toFloatArray();
            float[] first = {-1.3416354f, -0.4472118f, 1.8944236f, 3.6832708f,
                    -0.2886750f, -0.2886750f, 3.5773500f, 1.2679499f};
            float[] second = {-1.3416407f, -0.4472136f, 1.8944272f, 3.6832815f,
                    -0.2886751f, -0.2886751f, 3.5773503f, 1.2679492f};
            for (int i = 0; i < 8; i++) {
                assertThat(out[i]).as("image 0, value %d", i).isCloseTo(first[i], within(1e-6f));
                assertThat(out[8 + i]).as("image 1, value %d", i).isCloseTo(second[i], within(1e-6f));
            }
            // Alone, the first image normalises to the same values: nothing depends on the batch.
            float[] alone = GroupNorm.groupNorm(m.create(image, new Shape(1, 4, 1, 2)), gamma, beta, 2, 1e-5f)
                    .toFloatArray();
            for (int i = 0; i < 8; i++) {
                assertThat(alone[i]).isEqualTo(out[i]);
            }
            // A constant group: variance 0, so eps alone keeps the division finite and the output is beta.
            float[] flat = GroupNorm.groupNorm(m.create(new float[] {7, 7, 7, 7, 7, 7, 7, 7}, new Shape(1, 4, 1, 2)),
                    gamma, beta, 2, 1e-5f).toFloatArray();
            assertThat(flat).containsExactly(0, 0, 1, 1, 0, 0, 3, 3);
            assertThatThrownBy(() -> GroupNorm.groupNorm(x, gamma, beta, 3, 1e-5f))
                    .hasMessageContaining("4 channels do not fall into 3 groups");
        }
    }

    @Test
    void theGroupNormNetworkTrainsAsManyParametersAndInitialisesGammaToOneBetaToZero() {
        try (Model model = Model.newInstance("gn")) {
            SequentialBlock net = ResNet18.classifier(5, TrainConfig.Norm.GROUP);
            model.setBlock(net);
            NDManager m = model.getNDManager();
            net.initialize(m, DataType.FLOAT32, new Shape(2, 3, 64, 64));
            WeightInit.apply(net, 7);
            long trainable = 0;
            int gammas = 0;
            for (Pair<String, Parameter> p : net.getParameters()) {
                Parameter.Type t = p.getValue().getType();
                assertThat(t).isNotIn(Parameter.Type.RUNNING_MEAN, Parameter.Type.RUNNING_VAR);
                float[] v = p.getValue().getArray().toFloatArray();
                if (t == Parameter.Type.GAMMA) {
                    gammas++;
                    assertThat(v).containsOnly(1f);
                } else if (t == Parameter.Type.BETA) {
                    assertThat(v).containsOnly(0f);
                }
                trainable += p.getValue().requiresGradient() ? v.length : 0;
            }
            // As ResNet18Test's BatchNorm network: GroupNorm trains the same gamma and beta.
            assertThat(trainable).isEqualTo(11_179_077L);
            assertThat(gammas).isEqualTo(20);
            // The same seed draws the same convolutions as the BatchNorm network's.
            try (Model bnModel = Model.newInstance("bn")) {
                SequentialBlock bn = ResNet18.classifier(5);
                bn.initialize(bnModel.getNDManager(), DataType.FLOAT32, new Shape(1, 3, 64, 64));
                WeightInit.apply(bn, 7);
                assertThat(net.getParameters().get(0).getValue().getArray().toFloatArray())
                        .containsExactly(bn.getParameters().get(0).getValue().getArray().toFloatArray());
            }
            NDArray x = m.randomNormal(new Shape(4, 3, 64, 64));
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logits = net.forward(new ParameterStore(m, false), new NDList(x), true).singletonOrThrow();
                assertThat(logits.getShape()).isEqualTo(new Shape(4, 5));
                gc.backward(logits.sum());
            }
            // The stem's GroupNorm gamma is the second parameter; it receives a gradient.
            Parameter stemGamma = net.getParameters().get(1).getValue();
            assertThat(stemGamma.getType()).isEqualTo(Parameter.Type.GAMMA);
            assertThat(stemGamma.getArray().getGradient().abs().sum().getFloat()).isGreaterThan(0f);
        }
    }

    /**
     * LayerNorm is GroupNorm of one group: each image normalised by the mean and variance of all its
     * channels and pixels. The image (1, 4, 1, 2) of 1, 2, 3, 4, 0, 0, 0, 8 has mean 2.25 and
     * variance 94 / 8 - 2.25^2 = 6.6875.
     */
    @Test
    void theLayerNormNetworkNormalisesEachImageAsOneGroupAndSavesAndLoadsAsSuch() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            float[] image = {1, 2, 3, 4, 0, 0, 0, 8};
            float[] y = GroupNorm.groupNorm(m.create(image, new Shape(1, 4, 1, 2)), m.ones(new Shape(4)),
                    m.zeros(new Shape(4)), 1, 1e-5f).toFloatArray();
            for (int i = 0; i < 8; i++) {
                assertThat(y[i]).isCloseTo((float) ((image[i] - 2.25) / Math.sqrt(6.6875 + 1e-5)), within(1e-6f));
            }
        }
        int size = 32;
        Model model = initialised(TrainConfig.Norm.LAYER, size, 5);
        SequentialBlock net = (SequentialBlock) model.getBlock();
        List<GroupNorm> norms = new java.util.ArrayList<>();
        collectNorms(net, norms);
        assertThat(norms).hasSize(20).allSatisfy(n -> assertThat(n.groups()).isEqualTo(1));
        float[] images = gaussian(2 * 3 * size * size, 3);
        Path dir = tmp.resolve("ln");
        float[][] before;
        try (Classifier c = Classifier.of(model, net, metadata(TrainConfig.Norm.LAYER, size))) {
            before = c.probabilities(images, 2, size);
            c.save(dir);
            assertThatThrownBy(() -> c.adaptBatchNorm(List.of())).isInstanceOf(UserException.class)
                    .hasMessageStartingWith("--adapt-bn: this model uses LayerNorm, which keeps no BatchNorm statistics");
        }
        try (Classifier c = Classifier.load(dir)) {
            assertThat(c.metadata().norm()).isEqualTo(TrainConfig.Norm.LAYER);
            float[][] after = c.probabilities(images, 2, size);
            assertThat(after[0]).containsExactly(before[0]);
            assertThat(after[1]).containsExactly(before[1]);
        }
    }

    /** A 5-class ResNet-18 with this normalisation, initialised for size x size images with a seeded WeightInit. */
    private static Model initialised(TrainConfig.Norm norm, int size, long seed) {
        Model model = Model.newInstance(norm.id());
        SequentialBlock net = ResNet18.classifier(5, norm);
        model.setBlock(net);
        net.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, size, size));
        WeightInit.apply(net, seed);
        return model;
    }

    /** n standard-normal draws of a seeded generator. */
    private static float[] gaussian(int n, long seed) {
        Random rnd = new Random(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) rnd.nextGaussian();
        }
        return out;
    }

    private static void collectNorms(ai.djl.nn.Block block, List<GroupNorm> out) {
        if (block instanceof GroupNorm g) {
            out.add(g);
        }
        for (Pair<String, ai.djl.nn.Block> child : block.getChildren()) {
            collectNorms(child.getValue(), out);
        }
    }

    @Test
    void aGroupNormClassifierPredictsWhatItsNetworkComputesAndRefusesBatchNormAdaptation() throws Exception {
        int size = 32;
        Model model = initialised(TrainConfig.Norm.GROUP, size, 3);
        SequentialBlock net = (SequentialBlock) model.getBlock();
        float[] images = gaussian(2 * 3 * size * size, 1);
        try (Classifier c = Classifier.of(model, net, metadata(TrainConfig.Norm.GROUP, size))) {
            float[][] p = c.probabilities(images, 2, size);
            float[] logits;
            try (NDManager sub = model.getNDManager().newSubManager()) {
                logits = net.forward(new ParameterStore(sub, false), new NDList(sub.create(images, new Shape(2, 3, size, size))),
                        false).singletonOrThrow().toFloatArray();
            }
            for (int i = 0; i < 2; i++) {
                double sum = 0;
                for (int k = 0; k < 5; k++) {
                    sum += Math.exp(logits[i * 5 + k]);
                }
                for (int k = 0; k < 5; k++) {
                    assertThat(p[i][k]).isCloseTo((float) (Math.exp(logits[i * 5 + k]) / sum), within(1e-6f));
                }
            }
            // Channels-last input runs the same network, where this CPU computes that format right.
            if (Formats.channelsLastIsSound(size)) {
                float[][] cl = c.useChannelsLast().probabilities(images, 2, size);
                for (int k = 0; k < 5; k++) {
                    assertThat(cl[0][k]).isCloseTo(p[0][k], within(1e-5f));
                }
            } else {
                assertThatThrownBy(c::useChannelsLast).isInstanceOf(UserException.class).hasMessageStartingWith("--channels-last: ");
            }
            assertThat(c.features(images, 2, size)[1]).hasSize(ResNet18.FEATURES);
            assertThatThrownBy(() -> c.adaptBatchNorm(List.of())).isInstanceOf(UserException.class)
                    .hasMessage("--adapt-bn: this model uses GroupNorm, which keeps no BatchNorm statistics to"
                            + " re-estimate (it normalises each image by its own)");
        }
    }

    @Test
    void metadataAndConfigsWrittenBeforeGroupNormReadAsBatchNorm() throws Exception {
        int size = 32;
        Model model = initialised(TrainConfig.Norm.BATCH, size, 4);
        SequentialBlock net = (SequentialBlock) model.getBlock();
        float[] images = gaussian(3 * size * size, 2);
        Path dir = tmp.resolve("model");
        float[] before;
        try (Classifier c = Classifier.of(model, net, metadata(TrainConfig.Norm.BATCH, size))) {
            before = c.probabilities(images, 1, size)[0];
            c.save(dir);
        }
        String md = Files.readString(dir.resolve(Classifier.METADATA));
        assertThat(md).contains("\"norm\" : \"batch\"");
        Files.writeString(dir.resolve(Classifier.METADATA), md.replace(",\n    \"norm\" : \"batch\"", ""));
        assertThat(Files.readString(dir.resolve(Classifier.METADATA))).doesNotContain("\"norm\"");
        try (Classifier c = Classifier.load(dir)) {
            assertThat(c.metadata().norm()).isEqualTo(TrainConfig.Norm.BATCH);
            assertThat(c.probabilities(images, 1, size)[0]).containsExactly(before);
        }
        // A committed config.json of a run from before GroupNorm.
        TrainConfig old = Json.read(Path.of("docs/confirm/baseline/WBC_1-split0-seed0/config.json"), TrainConfig.class);
        assertThat(Files.readString(Path.of("docs/confirm/baseline/WBC_1-split0-seed0/config.json"))).doesNotContain("norm");
        assertThat(old.norm()).isEqualTo(TrainConfig.Norm.BATCH);
        assertThat(old.subset()).isEqualTo("WBC_1");
        // Metadata without a training config at all (a hand-made bundle) describes the BatchNorm network too.
        assertThat(metadata(null, size).withMetrics(Map.of()).norm()).isEqualTo(TrainConfig.Norm.BATCH);
        assertThatThrownBy(() -> TrainConfig.Norm.parse("instance")).isInstanceOf(UserException.class)
                .hasMessage("unknown normalisation 'instance' (expected batch, group or layer)");
        assertThat(TrainConfig.Norm.parse("layer")).isEqualTo(TrainConfig.Norm.LAYER);
        assertThat(TrainConfig.Norm.parse("GROUP")).isEqualTo(TrainConfig.Norm.GROUP);
    }

    /** Metadata recording a training config with the given normalisation (none when null). */
    private ModelMetadata metadata(TrainConfig.Norm norm, int size) throws Exception {
        TrainConfig training = null;
        if (norm != null) {
            Files.createDirectories(tmp);
            training = TrainConfig.builder().setData(tmp, tmp.resolve("split.csv")).setSubset("WBC_100")
                    .optImageSize(size).optNorm(norm).build();
        }
        return new ModelMetadata(ModelMetadata.FORMAT, "resnet18", List.of("a", "b", "c", "d", "e"),
                List.of(3, size, size), Normalization.imagenet(), training, null, Map.of(), ModelMetadata.INTENDED_USE, null);
    }
}
