package org.wbctransfer.pretrain;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Random;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.wbctransfer.config.Augmentation;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.Normalization;
import org.wbctransfer.model.BackboneBundle;
import org.wbctransfer.model.CellCrop;
import org.wbctransfer.model.MaskNet;
import org.wbctransfer.model.Devices;
import org.wbctransfer.model.WeightInit;
import org.wbctransfer.training.SummaryCsv;
import org.wbctransfer.training.WeightedCrossEntropy;
import org.wbctransfer.util.UserException;

/**
 * Pre-training on WBC masks: per-pixel background / cytoplasm / nucleus segmentation through a
 * light decoder ({@link MaskNet}), so the backbone learns where a cell and its nucleus are before
 * it learns cell types. A seeded 10 % of the pairs is held out; the backbone of the epoch with the
 * best held-out mean IoU is kept. The whole segmentation network of that epoch is also saved in
 * the stage's folder ({@link CellCrop#DIR}): it is what cell-centred crops find the cell with.
 *
 * @param maxPairs train on at most this many pairs (a seeded selection); 0 for all. The
 *     held-out pairs are drawn first and do not shrink with it.
 * @param zoomOut largest random zoom-out of a training pair (log-uniform from 1 to this, the
 *     rest of the frame filled with the image's border colour and labelled background), so the
 *     network also finds cells that fill a third of the frame, as Raabin's do, when the masks
 *     show them filling it; 1 is off
 * @param strongColour stronger colour jitter ({@link #STRONG_COLOUR}), so the network also finds
 *     cells under other stains than those of its masks (a cell finder for other microscopes)
 */
public record MaskStage(String name, Path root, int epochs, int batch, double lr, int maxPairs, double zoomOut,
        boolean strongColour) implements PretrainStage {

    private static final Logger LOG = LoggerFactory.getLogger(MaskStage.class);
    static final double VAL_FRACTION = 0.1;
    /**
     * Colour jitter only: the geometric part is done here on image and mask together, as exact
     * pixel permutations, because Augmenter's resampling would blur class codes.
     */
    private static final Augmentation COLOUR = new Augmentation(false, Augmentation.Rotation.NONE, 0, 0, 0.1, 0.1, 0.1, 0.02);
    /**
     * Brightness and contrast ±20 %, saturation ±40 %, hue ±0.1 turn, HED stain jitter 0.05,
     * greyscale on 20 % and blur up to 1 px: Raabin's pink-violet smears and Tecom's yellow ones
     * are further apart than the light jitter reaches.
     */
    static final Augmentation STRONG_COLOUR = new Augmentation(false, Augmentation.Rotation.NONE, 0, 0, 0.2, 0.2, 0.4, 0.1,
            0, 0, 0.05, 0.2, 1.0, 0);

    public MaskStage {
        if (epochs < 1 || batch < 2 || !(lr > 0) || maxPairs < 0 || !(zoomOut >= 1 && zoomOut <= 4)) {
            throw new IllegalArgumentException("mask stage needs epochs >= 1, batch >= 2, lr > 0, maxPairs >= 0,"
                    + " zoomOut in [1, 4]");
        }
    }

    /** Held-out and training pairs. */
    record Split(List<MaskDataset.Pair> train, List<MaskDataset.Pair> val) {}

    /** Seeded hold-out of 10 % (at least one pair), then the optional cap on training pairs. */
    static Split split(List<MaskDataset.Pair> pairs, long seed, int maxPairs) {
        List<MaskDataset.Pair> shuffled = new ArrayList<>(pairs);
        Collections.shuffle(shuffled, new Random(seed));
        int nVal = pairs.size() < 2 ? 0 : Math.max(1, (int) Math.round(pairs.size() * VAL_FRACTION));
        List<MaskDataset.Pair> val = new ArrayList<>(shuffled.subList(0, nVal));
        List<MaskDataset.Pair> train = new ArrayList<>(shuffled.subList(nVal, shuffled.size()));
        if (maxPairs > 0 && train.size() > maxPairs) {
            train = new ArrayList<>(train.subList(0, maxPairs));
        }
        // Sorted so the recorded hash names the set, not the draw order.
        train.sort(java.util.Comparator.comparing(MaskDataset.Pair::image));
        val.sort(java.util.Comparator.comparing(MaskDataset.Pair::image));
        return new Split(train, val);
    }

    @Override
    public BackboneBundle.Stage run(PretrainContext ctx) throws IOException {
        long t0 = System.nanoTime();
        int size = ctx.imageSize();
        MaskDataset data = MaskDataset.load(root, size);
        Split split = split(data.pairs(), ctx.seed(), maxPairs);
        if (split.train().size() < 2 || split.val().isEmpty()) {
            throw new UserException(root + ": " + data.size()
                    + " usable image/mask pairs; the mask stage needs at least 3 (training and held-out)");
        }
        List<byte[]> px = new ArrayList<>();
        split.train().forEach(p -> px.add(p.rgb()));
        Normalization norm = Normalization.compute(px);
        // Weighted by pixel counts: background covers most of each image, so unweighted
        // cross-entropy would reward predicting background and neglect the nucleus boundary.
        float[] classWeights = WeightedCrossEntropy.balancedWeights(classPixels(split.train()));
        WeightedCrossEntropy loss = new WeightedCrossEntropy(classWeights);
        Augmenter colour = new Augmenter(strongColour ? STRONG_COLOUR : COLOUR, norm, size);
        int steps = batchesPerEpoch(split.train().size(), batch);

        MaskNet net = new MaskNet(ctx.backbone(), MaskDataset.CLASSES);
        SummaryCsv summary = new SummaryCsv(ctx.stageDir().resolve(RunDir.SUMMARY),
                "epoch,train_loss,val_mean_iou,val_pixel_accuracy,seconds");
        List<Double> losses = new ArrayList<>();
        Metrics best = null;
        int bestEpoch = -1;
        byte[] bestWeights = null;
        byte[] bestNet = null;
        try (Model model = Model.newInstance("masks", Devices.compute())) {
            net.initializeDecoder(model.getNDManager(), size);
            // One seed per block: with a shared seed the laterals would start from the same draws.
            List<Block> decoder = net.decoder();
            for (int i = 0; i < decoder.size(); i++) {
                WeightInit.apply(decoder.get(i), ctx.seed() + 1 + i);
            }
            model.setBlock(net);
            try (Trainer trainer = StageLoop.trainer(model, StageLoop.optimizer(lr, 0.05, steps, epochs))) {
                for (int e = 0; e < epochs; e++) {
                    long te = System.nanoTime();
                    double l = StageLoop.epoch(trainer, batches(split.train(), colour, size, ctx.seed(), e, batch, zoomOut), steps,
                            (t, sub, b) -> {
                                NDArray logits = t.forward(new NDList(input(sub, b, size))).singletonOrThrow();
                                return loss.evaluate(new NDList(sub.create(b.labels())), new NDList(flatten(logits)));
                            }, name + " epoch " + (e + 1) + "/" + epochs, ctx.progress());
                    losses.add(l);
                    Metrics m = evaluate(net, model.getNDManager(), split.val(), colour, size, 2 * batch);
                    LOG.info(String.format(Locale.ROOT, "%s epoch %d/%d loss %.4f val mIoU %.4f (IoU bg %.3f cyto %.3f"
                            + " nucleus %.3f) pixel accuracy %.4f", name, e + 1, epochs, l, m.meanIoU(), m.iou()[0],
                            m.iou()[1], m.iou()[2], m.pixelAccuracy()));
                    summary.add(e + 1, l, m.meanIoU(), m.pixelAccuracy(), (System.nanoTime() - te) / 1e9);
                    if (best == null || m.meanIoU() >= best.meanIoU()) {
                        best = m;
                        bestEpoch = e + 1;
                        bestWeights = TissueStage.weights(ctx.backbone());
                        bestNet = TissueStage.weights(net);
                    }
                }
            }
            TissueStage.restore(ctx.backbone(), bestWeights, ctx.manager());
        }
        CellCrop.save(ctx.stageDir().resolve(CellCrop.DIR), bestNet, new CellCrop.Info(size, norm, null, root.toString(),
                MaskDataset.hash(split.train()), best.meanIoU(), zoomOut, null));
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("bestEpoch", bestEpoch);
        metrics.put("valMeanIoU", best.meanIoU());
        for (int c = 0; c < MaskDataset.CLASSES; c++) {
            metrics.put("valIoU_" + MaskDataset.CLASS_NAMES.get(c), best.iou()[c]);
        }
        metrics.put("valPixelAccuracy", best.pixelAccuracy());
        metrics.put("valPairs", split.val().size());
        metrics.put("trainLoss", losses);
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("epochs", epochs);
        settings.put("batch", batch);
        settings.put("lr", lr);
        settings.put("maxPairs", maxPairs);
        if (zoomOut > 1) {
            settings.put("zoomOut", zoomOut);
        }
        if (strongColour) {
            settings.put("colour", STRONG_COLOUR);
        }
        settings.put("classes", MaskDataset.CLASS_NAMES);
        settings.put("classWeights", toList(classWeights));
        settings.put("decoder", "FPN-lite: 1x1 laterals on layer1-4 to " + MaskNet.WIDTH
                + " ch, nearest top-down, 3x3 conv-BN-ReLU, 1x1 classifier at stride 4, bilinear x4");
        return new BackboneBundle.Stage(name, "masks", root.toString(), MaskDataset.hash(split.train()),
                split.train().size(), epochs, settings, metrics, (System.nanoTime() - t0) / 1e9);
    }

    /** A batch of normalized images (NCHW) and their per-pixel classes (N x H x W). */
    record MaskBatch(float[] images, int[] labels, int size) {}

    static NDArray input(NDManager sub, MaskBatch b, int s) {
        return sub.create(FloatBuffer.wrap(b.images()), new Shape(b.size(), 3, s, s));
    }

    /** (N, K, H, W) logits to (N*H*W, K) rows, the layout the class-weighted loss expects. */
    static NDArray flatten(NDArray logits) {
        long k = logits.getShape().get(1);
        return logits.transpose(0, 2, 3, 1).reshape(-1, k);
    }

    /**
     * Shuffled training batches for one epoch; a last batch of one pair is dropped since
     * BatchNorm needs two. Each pair's flips, rotation and colour jitter come from (seed, epoch,
     * pair index), independent of batch composition.
     */
    static Iterator<MaskBatch> batches(List<MaskDataset.Pair> pairs, Augmenter colour, int size, long seed, int epoch,
            int batch, double zoomOut) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(Augmenter.sampleSeed(seed, epoch, -1)));
        int plane = size * size;
        return new Iterator<>() {
            int next = 0;

            @Override
            public boolean hasNext() {
                return pairs.size() - next >= 2;
            }

            @Override
            public MaskBatch next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                int n = Math.min(batch, pairs.size() - next);
                float[] images = new float[n * 3 * plane];
                int[] labels = new int[n * plane];
                for (int j = 0; j < n; j++) {
                    int idx = order.get(next + j);
                    MaskDataset.Pair p = pairs.get(idx);
                    long s = Augmenter.sampleSeed(seed, epoch, idx);
                    byte[][] geo = geometric(p.rgb(), p.labels(), size, new SplittableRandom(s));
                    if (zoomOut > 1) {
                        // Its own stream: pairs draw the same flips and turns with and without zoom.
                        geo = zoomOut(geo[0], geo[1], size, zoomOut, new SplittableRandom(~s));
                    }
                    // A second stream for the colour draws, so they do not repeat the geometric ones.
                    colour.augment(geo[0], Augmenter.sampleSeed(~seed, epoch, idx), images, j * 3 * plane);
                    for (int i = 0; i < plane; i++) {
                        labels[j * plane + i] = geo[1][i];
                    }
                }
                next += n;
                return new MaskBatch(images, labels, n);
            }
        };
    }

    /** Batches per epoch as {@link #batches} yields them. */
    static int batchesPerEpoch(int pairs, int batch) {
        return pairs / batch + (pairs % batch >= 2 ? 1 : 0);
    }

    /**
     * Random flips and a multiple of 90 degrees, applied as one index permutation to image and
     * mask so that they stay aligned pixel for pixel.
     */
    static byte[][] geometric(byte[] rgb, byte[] labels, int size, SplittableRandom rng) {
        boolean flipX = rng.nextBoolean();
        boolean flipY = rng.nextBoolean();
        int turns = rng.nextInt(4);
        byte[] outRgb = new byte[rgb.length];
        byte[] outLab = new byte[labels.length];
        int max = size - 1;
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int sx = flipX ? max - x : x;
                int sy = flipY ? max - y : y;
                for (int t = 0; t < turns; t++) {
                    int tmp = sx;
                    sx = sy;
                    sy = max - tmp;
                }
                int src = sy * size + sx;
                int dst = y * size + x;
                outLab[dst] = labels[src];
                outRgb[3 * dst] = rgb[3 * src];
                outRgb[3 * dst + 1] = rgb[3 * src + 1];
                outRgb[3 * dst + 2] = rgb[3 * src + 2];
            }
        }
        return new byte[][] {outRgb, outLab};
    }

    /**
     * Shrinks image and mask by a log-uniform factor in [1, max] (box-averaged image, the label
     * of the box's middle pixel) to a random place in the frame; the rest is the image's mean border colour, labelled
     * background.
     */
    static byte[][] zoomOut(byte[] rgb, byte[] labels, int size, double max, SplittableRandom rng) {
        double z = Math.exp(rng.nextDouble() * Math.log(max));
        int inner = Math.max(1, (int) Math.round(size / z));
        int ox = rng.nextInt(size - inner + 1);
        int oy = rng.nextInt(size - inner + 1);
        double[] fill = Augmenter.borderMean(rgb, size);
        byte[] outRgb = new byte[rgb.length];
        byte[] outLab = new byte[labels.length];
        double step = size / (double) inner;
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int dst = y * size + x;
                int ix = x - ox;
                int iy = y - oy;
                if (ix < 0 || iy < 0 || ix >= inner || iy >= inner) {
                    for (int c = 0; c < 3; c++) {
                        outRgb[3 * dst + c] = (byte) (int) fill[c];
                    }
                    continue;
                }
                int x0 = (int) (ix * step);
                int y0 = (int) (iy * step);
                int x1 = Math.max(x0 + 1, Math.min(size, (int) ((ix + 1) * step)));
                int y1 = Math.max(y0 + 1, Math.min(size, (int) ((iy + 1) * step)));
                long[] sum = new long[3];
                for (int sy = y0; sy < y1; sy++) {
                    for (int sx = x0; sx < x1; sx++) {
                        for (int c = 0; c < 3; c++) {
                            sum[c] += rgb[3 * (sy * size + sx) + c] & 0xff;
                        }
                    }
                }
                int n = (x1 - x0) * (y1 - y0);
                for (int c = 0; c < 3; c++) {
                    outRgb[3 * dst + c] = (byte) (sum[c] / n);
                }
                // The label at the middle of the pixels averaged, so a pixel's label matches its colour.
                outLab[dst] = labels[(y0 + y1 - 1) / 2 * size + (x0 + x1 - 1) / 2];
            }
        }
        return new byte[][] {outRgb, outLab};
    }

    /** Held-out segmentation quality. */
    record Metrics(double[] iou, double meanIoU, double pixelAccuracy) {}

    /**
     * Per-class IoU over all held-out pixels together (not averaged per image, where small
     * nuclei in a few images would swing the result), their mean over classes that occur, and
     * pixel accuracy.
     */
    static Metrics evaluate(Block net, NDManager manager, List<MaskDataset.Pair> pairs, Augmenter plain, int size, int batch) {
        int k = MaskDataset.CLASSES;
        long[][] confusion = new long[k][k]; // [truth][prediction]
        int plane = size * size;
        for (int start = 0; start < pairs.size(); start += batch) {
            int n = Math.min(batch, pairs.size() - start);
            float[] images = new float[n * 3 * plane];
            for (int j = 0; j < n; j++) {
                plain.plain(pairs.get(start + j).rgb(), images, j * 3 * plane);
            }
            try (NDManager sub = manager.newSubManager()) {
                NDArray x = sub.create(FloatBuffer.wrap(images), new Shape(n, 3, size, size));
                NDArray logits = net.forward(new ParameterStore(sub, false), new NDList(x), false).singletonOrThrow();
                long[] pred = logits.argMax(1).toLongArray();
                for (int j = 0; j < n; j++) {
                    byte[] truth = pairs.get(start + j).labels();
                    for (int i = 0; i < plane; i++) {
                        confusion[truth[i]][(int) pred[j * plane + i]]++;
                    }
                }
            }
        }
        return metrics(confusion);
    }

    static Metrics metrics(long[][] confusion) {
        int k = confusion.length;
        double[] iou = new double[k];
        double sum = 0;
        int present = 0;
        long correct = 0;
        long total = 0;
        for (int c = 0; c < k; c++) {
            long tp = confusion[c][c];
            long truth = 0;
            long predicted = 0;
            for (int j = 0; j < k; j++) {
                truth += confusion[c][j];
                predicted += confusion[j][c];
                total += confusion[c][j];
            }
            correct += tp;
            long union = truth + predicted - tp;
            iou[c] = union == 0 ? Double.NaN : tp / (double) union;
            if (truth > 0) {
                sum += iou[c];
                present++;
            }
        }
        return new Metrics(iou, present == 0 ? Double.NaN : sum / present, total == 0 ? Double.NaN : correct / (double) total);
    }

    static long[] classPixels(List<MaskDataset.Pair> pairs) {
        long[] n = new long[MaskDataset.CLASSES];
        for (MaskDataset.Pair p : pairs) {
            for (byte b : p.labels()) {
                n[b]++;
            }
        }
        return n;
    }

    private static List<Double> toList(float[] v) {
        List<Double> out = new ArrayList<>();
        for (float f : v) {
            out.add((double) f);
        }
        return out;
    }
}
