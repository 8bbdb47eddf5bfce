package org.wbctransfer.pretrain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.model.BackboneBundle;
import org.wbctransfer.model.MaskNet;
import org.wbctransfer.model.ResNet18;
import org.wbctransfer.model.ResNetBackbone;
import org.wbctransfer.model.WeightInit;

class MaskStageTest {

    @TempDir
    Path tmp;

    @Test
    void zoomOutShrinksImageAndMaskTogetherOntoTheBorderColour() {
        int s = 8;
        byte[] rgb = new byte[3 * s * s];
        byte[] lab = new byte[s * s];
        java.util.Arrays.fill(rgb, (byte) 100); // border and background grey 100
        for (int y = 2; y < 6; y++) {
            for (int x = 2; x < 6; x++) {
                lab[y * s + x] = 2;
                rgb[3 * (y * s + x)] = (byte) 250;
            }
        }
        int cell = 0;
        for (int seed = 0; seed < 20; seed++) {
            byte[][] z = MaskStage.zoomOut(rgb, lab, s, 4, new SplittableRandom(seed));
            int n = 0;
            for (int i = 0; i < s * s; i++) {
                if (z[1][i] == 2) {
                    n++;
                    // A nucleus pixel of the mask is a (mostly) red pixel of the image.
                    assertThat(z[0][3 * i] & 0xff).isGreaterThan(100);
                } else if (z[1][i] == 0 && (z[0][3 * i] & 0xff) > 240) {
                    throw new AssertionError("a nucleus pixel of the image lost its label at " + i);
                }
            }
            assertThat(n).isBetween(1, 16);
            cell += n;
        }
        // Zoomed out 1-4x, the 16-pixel nucleus shrinks on average.
        assertThat(cell / 20.0).isLessThan(16);
    }

    @Test
    void geometricAugmentationMovesImageAndMaskTogether() {
        int s = 5;
        byte[] rgb = new byte[s * s * 3];
        byte[] lab = new byte[s * s];
        for (int i = 0; i < s * s; i++) {
            rgb[3 * i] = (byte) i; // each pixel carries its own index...
            lab[i] = (byte) (i % 3); // ...and a class derived from it
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (long seed = 0; seed < 64; seed++) {
            byte[][] out = MaskStage.geometric(rgb, lab, s, new SplittableRandom(seed));
            boolean[] used = new boolean[s * s];
            for (int i = 0; i < s * s; i++) {
                int src = out[0][3 * i];
                assertThat(used[src]).isFalse(); // a permutation: nothing duplicated, nothing lost
                used[src] = true;
                assertThat(out[1][i]).isEqualTo((byte) (src % 3));
            }
            seen.add(java.util.Arrays.toString(out[0]));
        }
        assertThat(seen).hasSize(8); // the 8 symmetries of the square all occur
    }

    @Test
    void bilinearUpsamplingKeepsConstantsAndInterpolatesBetweenCells() {
        float[] a = MaskNet.interpolation(2, 8);
        for (int o = 0; o < 8; o++) {
            assertThat(a[2 * o] + a[2 * o + 1]).isCloseTo(1f, within(1e-6f));
        }
        assertThat(a[0]).isEqualTo(1f); // edges clamp, as in PyTorch with align_corners=False
        assertThat(a[2 * 3 + 1]).isCloseTo(0.375f, within(1e-6f));
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[] {0, 1, 2, 3}, new Shape(1, 1, 2, 2));
            NDArray up = MaskNet.bilinear(x, 8, 8);
            assertThat(up.getShape()).isEqualTo(new Shape(1, 1, 8, 8));
            float[] v = up.toFloatArray();
            assertThat(v[0]).isEqualTo(0f);
            assertThat(v[63]).isCloseTo(3f, within(1e-6f));
            NDArray near = MaskNet.upsample2(m.create(new float[] {1, 2, 3, 4}, new Shape(1, 1, 2, 2)), 3, 3);
            assertThat(near.toFloatArray()).containsExactly(1, 1, 2, 1, 1, 2, 3, 3, 4);
        }
    }

    @Test
    void iouOverPooledPixels() {
        // truth x prediction; nucleus never predicted
        long[][] c = {{8, 2, 0}, {1, 4, 0}, {0, 1, 0}};
        MaskStage.Metrics m = MaskStage.metrics(c);
        assertThat(m.iou()[0]).isCloseTo(8 / 11.0, within(1e-12));
        assertThat(m.iou()[1]).isCloseTo(4 / 8.0, within(1e-12));
        assertThat(m.iou()[2]).isZero();
        assertThat(m.meanIoU()).isCloseTo((8 / 11.0 + 0.5) / 3, within(1e-12));
        assertThat(m.pixelAccuracy()).isCloseTo(12 / 16.0, within(1e-12));
    }

    @Test
    void shortRunOnRealMasksTrainsTheBackbone() throws Exception {
        int size = 48; // not a multiple of 32: layer4 is 2x2 under a 3x3 layer3, the crop path
        long seed = 11;
        Path root = MaskDatasetTest.wbcSeg();
        try (NDManager manager = NDManager.newBaseManager()) {
            ResNetBackbone backbone = ResNet18.backbone();
            backbone.initialize(manager, DataType.FLOAT32, new Shape(1, 3, size, size));
            WeightInit.apply(backbone, seed);
            float[] before = backbone.getParameters().get(0).getValue().getArray().toFloatArray();
            Path stageDir = Files.createDirectories(tmp.resolve("stage"));
            PretrainContext ctx = new PretrainContext(backbone, manager, size, seed, stageDir, tmp.resolve("cache"), false, false);

            long t0 = System.nanoTime();
            BackboneBundle.Stage st = new MaskStage("masks", root, 3, 16, 2e-3, 48, 1, false).run(ctx);
            System.out.printf("mask stage: %.1f s, metrics %s%n", (System.nanoTime() - t0) / 1e9, st.metrics());

            assertThat(st.type()).isEqualTo("masks");
            assertThat(st.images()).isEqualTo(48);
            assertThat(st.epochs()).isEqualTo(3);
            assertThat(st.dataSha256()).hasSize(64);
            assertThat(st.metrics()).containsEntry("valPairs", 40);
            float[] after = backbone.getParameters().get(0).getValue().getArray().toFloatArray();
            assertThat(after).isNotEqualTo(before);
            // The segmentation network of the kept epoch is saved for cell-centred crops.
            try (org.wbctransfer.model.CellCrop crop = org.wbctransfer.model.CellCrop.load(stageDir)) {
                assertThat(crop.info().size()).isEqualTo(size);
                assertThat(crop.info().trainedOn()).isEqualTo(root.toString());
                assertThat(crop.info().heldOutMeanIoU()).isEqualTo((Double) st.metrics().get("valMeanIoU"));
                assertThat(crop.info().weightsSha256()).hasSize(64);
                // predict and the image cache segment a batch at a time, serve and explain one image:
                // every path must frame an image alike. 40 images: a full batch and a part one.
                List<java.awt.image.BufferedImage> images = new java.util.ArrayList<>();
                try (var files = Files.list(root.resolve("tecom").resolve("images"))) {
                    for (Path f : files.sorted().limit(40).toList()) {
                        images.add(org.wbctransfer.data.ImageDecoder.read(f, size));
                    }
                }
                List<org.wbctransfer.model.CellCrop.Located> together = crop.locateAll(images);
                assertThat(together).hasSize(40);
                for (int i = 0; i < images.size(); i++) {
                    org.wbctransfer.model.CellCrop.Located alone = crop.locate(images.get(i));
                    assertThat(together.get(i).labels()).as("image %d", i).isEqualTo(alone.labels());
                    assertThat(together.get(i).box()).as("image %d", i).isEqualTo(alone.box());
                }
            }
            // The kept epoch's weights are loaded back; they must stay trainable for later stages.
            assertThat(backbone.getParameters().get(0).getValue().getArray().hasGradient()).isTrue();

            List<String> rows = Files.readAllLines(stageDir.resolve("summary.csv"));
            assertThat(rows).hasSize(4).first().asString().startsWith("epoch,train_loss,val_mean_iou");
            double first = Double.parseDouble(rows.get(1).split(",")[1]);
            double last = Double.parseDouble(rows.get(3).split(",")[1]);
            assertThat(last).isLessThan(first);

            double miou = (Double) st.metrics().get("valMeanIoU");
            assertThat(miou).isFinite();
            // The trivial floor: every pixel called background scores IoU = background share on
            // background and 0 on the other two classes.
            MaskStage.Split split = MaskStage.split(MaskDataset.load(root, size).pairs(), seed, 48);
            long[] px = MaskStage.classPixels(split.val());
            double allBackground = px[0] / (double) (px[0] + px[1] + px[2]) / 3;
            System.out.printf("all-background mIoU %.3f, seen %.3f%n", allBackground, miou);
            assertThat(miou).isGreaterThan(allBackground + 0.05);
        }
    }
}
