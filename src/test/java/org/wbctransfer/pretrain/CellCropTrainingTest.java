package org.wbctransfer.pretrain;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.ImageCache;
import org.wbctransfer.data.ImageDecoder;
import org.wbctransfer.data.SplitData;
import org.wbctransfer.data.SplitManifest;
import org.wbctransfer.model.CellCrop;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelInput;
import org.wbctransfer.model.ResNet18;
import org.wbctransfer.model.ResNetBackbone;
import org.wbctransfer.model.WeightInit;
import org.wbctransfer.training.WbcTrainer;

/** Cell-centred crops end to end: the masks stage's network frames training, and the bundle frames later inputs alike. */
class CellCropTrainingTest {

    @TempDir
    Path tmp;

    @Test
    void aModelTrainedOnCellCropsCarriesItsSegmenterAndFramesEveryInputAlike() throws Exception {
        int size = 48;
        Path stageDir = Files.createDirectories(tmp.resolve("masks"));
        try (NDManager manager = NDManager.newBaseManager()) {
            ResNetBackbone backbone = ResNet18.backbone();
            backbone.initialize(manager, DataType.FLOAT32, new Shape(1, 3, size, size));
            WeightInit.apply(backbone, 3);
            new MaskStage("masks", MaskDatasetTest.wbcSeg(), 4, 16, 2e-3, 64, 3, true)
                    .run(new PretrainContext(backbone, manager, size, 3, stageDir, tmp.resolve("cache"), false, false));
        }
        Path m = TestData.manifest(tmp, 16, 8);
        TrainConfig cfg = TrainConfig.builder().setData(TestData.raabin(), m).setSubset("WBC_100").optImageSize(32)
                .optBatchSize(16).optEpochs(1).optSeed(5).optValidation(0, 1000).optCacheDir(tmp.resolve("cache"))
                .optCellCrop(stageDir).build();
        Path run = tmp.resolve("run");
        try (Classifier trained = new WbcTrainer(cfg, List.of(), false, false).fit(run, false)) {
            assertThat(trained.framing()).isNotNull();
        }

        Path model = run.resolve("model");
        CellCrop.Info seg = CellCrop.readInfo(stageDir);
        assertThat(Files.readAllBytes(model.resolve("segmenter/segmenter.params")))
                .isEqualTo(Files.readAllBytes(stageDir.resolve("segmenter/segmenter.params")));
        try (Classifier c = Classifier.load(model)) {
            assertThat(c.metadata().cellCrop().sha256()).isEqualTo(seg.weightsSha256());
            assertThat(c.metadata().cellCrop().margin()).isEqualTo(CellCrop.MARGIN);
            assertThat(c.metadata().preprocessing().crop()).contains("cell-centred");

            // Training and evaluation read the framed cache; predict, explain and serve decode
            // through ModelInput. Both must give the network the same pixels.
            SplitManifest sm = SplitManifest.read(m);
            SplitData data = SplitData.open(TestData.raabin(), sm, 32, c.framing(), tmp.resolve("cache"));
            ModelInput input = c.input();
            int differ = 0;
            for (SplitManifest.Entry e : sm.test()) {
                Path file = TestData.raabin().resolve(e.relativePath());
                byte[] cached = data.cache().pixels(data.cache().indexOf(e.relativePath()));
                assertThat(input.decode(file)).as(e.relativePath()).isEqualTo(cached);
                if (!java.util.Arrays.equals(cached, ImageDecoder.decodeRgb(file, 32))) {
                    differ++;
                }
            }
            // The network found cells: some inputs are not the centre square.
            assertThat(differ).isPositive();
            // wbc predict on the exported bundle (ONNX engine) answers as the network does on the cached crops.
            Path bundle = tmp.resolve("bundle");
            assertThat(org.wbctransfer.cli.WbcCli.run("export", run.toString(), "--out", bundle.toString())).isZero();
            assertThat(bundle.resolve("segmenter/segmenter.params")).exists();
            assertThat(bundle.resolve("model.onnx")).exists();
            // The bundle's segmenter also runs on ONNX Runtime, and frames as it does on libtorch.
            assertThat(CellCrop.readInfo(bundle).onnxSha256())
                    .isEqualTo(org.wbctransfer.util.Hashing.sha256(bundle.resolve("segmenter/segmenter.onnx")));
            try (CellCrop onTorch = CellCrop.load(bundle); CellCrop onOnnx = CellCrop.load(bundle)) {
                assertThat(onOnnx.useOnnx()).isTrue();
                assertThat(onOnnx.engine()).isEqualTo("onnx");
                assertThat(onTorch.engine()).isEqualTo("torch");
                List<java.awt.image.BufferedImage> images = new ArrayList<>();
                for (SplitManifest.Entry e : sm.test()) {
                    images.add(ImageDecoder.read(TestData.raabin().resolve(e.relativePath())));
                }
                List<CellCrop.Located> want = onTorch.locateAll(images);
                List<CellCrop.Located> got = onOnnx.locateAll(images);
                long pixels = 0;
                long same = 0;
                int sameBox = 0;
                for (int i = 0; i < images.size(); i++) {
                    byte[] a = want.get(i).labels();
                    byte[] b = got.get(i).labels();
                    for (int p = 0; p < a.length; p++) {
                        same += a[p] == b[p] ? 1 : 0;
                    }
                    pixels += a.length;
                    sameBox += java.util.Arrays.equals(want.get(i).box(), got.get(i).box()) ? 1 : 0;
                }
                // Only pixels where two classes' scores tie may go the other way under float rounding.
                assertThat((double) same / pixels).isGreaterThan(0.999);
                assertThat(sameBox).isGreaterThanOrEqualTo(images.size() - 1);
            }
            // A damaged graph is refused by name; a missing one leaves the segmenter on libtorch.
            Path damaged = tmp.resolve("damaged");
            Files.createDirectories(damaged);
            for (String f : List.of("segmenter.params", "segmenter.json", "segmenter.onnx")) {
                Files.copy(bundle.resolve("segmenter").resolve(f), damaged.resolve(f));
            }
            byte[] graph = Files.readAllBytes(damaged.resolve("segmenter.onnx"));
            graph[graph.length / 2] ^= 1;
            Files.write(damaged.resolve("segmenter.onnx"), graph);
            try (CellCrop crop = CellCrop.load(damaged)) {
                org.assertj.core.api.Assertions.assertThatThrownBy(crop::useOnnx)
                        .isInstanceOf(org.wbctransfer.util.UserException.class)
                        .hasMessageContaining(damaged.resolve("segmenter.onnx") + ": checksum mismatch");
            }
            Files.delete(damaged.resolve("segmenter.onnx"));
            try (CellCrop crop = CellCrop.load(damaged)) {
                assertThat(crop.useOnnx()).isFalse();
                assertThat(crop.engine()).isEqualTo("torch");
            }
            SplitManifest.Entry first = sm.test().get(0);
            Path csv = tmp.resolve("p.csv");
            assertThat(org.wbctransfer.cli.WbcCli.run("predict", bundle.toString(),
                    TestData.raabin().resolve(first.relativePath()).toString(), "--out", csv.toString())).isZero();
            String[] row = Files.readAllLines(csv).get(1).split(",");
            float[] x = new float[input.floats()];
            input.normalize(data.cache().pixels(data.cache().indexOf(first.relativePath())), x, 0);
            float[] probs = c.probabilities(x, 1, 32)[0];
            for (int k = 0; k < probs.length; k++) {
                assertThat(Double.parseDouble(row[3 + k])).isCloseTo(probs[k], org.assertj.core.api.Assertions.within(1e-4));
            }
            // Grad-CAM is drawn over the crop the network saw.
            Path cam = tmp.resolve("cam.png");
            assertThat(org.wbctransfer.cli.WbcCli.run("explain", bundle.toString(),
                    TestData.raabin().resolve(first.relativePath()).toString(), "--out", cam.toString())).isZero();
            java.awt.image.BufferedImage overlay = javax.imageio.ImageIO.read(cam.toFile());
            assertThat(overlay.getWidth()).isEqualTo(overlay.getHeight());
            // The framed images are cached under their own key, not as the centre squares.
            List<String> paths = new ArrayList<>();
            sm.entries().forEach(e -> paths.add(e.relativePath()));
            assertThat(ImageCache.file(TestData.raabin(), paths, 32, tmp.resolve("cache"))).doesNotExist();
            try (var files = Files.list(tmp.resolve("cache"))) {
                assertThat(files.filter(p -> p.getFileName().toString().startsWith("images-32px"))).hasSize(1);
            }
        }
    }
}
