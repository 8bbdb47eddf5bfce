package org.wbctransfer.pretrain;

import org.wbctransfer.util.Warnings;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.wbctransfer.config.Augmentation;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.Batch;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.ImageCache;
import org.wbctransfer.data.ImageFolder;
import org.wbctransfer.data.Normalization;
import org.wbctransfer.model.BackboneBundle;
import org.wbctransfer.model.Devices;
import org.wbctransfer.model.ResNet18;
import org.wbctransfer.model.WeightInit;
import org.wbctransfer.training.Checkpoints;
import org.wbctransfer.training.SummaryCsv;
import org.wbctransfer.training.WeightedCrossEntropy;
import org.wbctransfer.util.UserException;

/**
 * Stage 1: supervised tissue classification on a labelled image folder with
 * {@code train/}, {@code val/} and (optional) {@code test/} class-per-folder splits, e.g.
 * Camelyon16 (PatchCamelyon) tumour vs normal. The backbone of the epoch with the best validation
 * accuracy is kept; the test accuracy is reported so a user can see the stage learned something.
 *
 * @param maxImages use at most this many training images (a seeded, class-balanced
 *     selection); 0 for all
 */
public record TissueStage(String name, Path root, int epochs, int batch, double lr, int maxImages)
        implements PretrainStage {

    private static final Logger LOG = LoggerFactory.getLogger(TissueStage.class);

    /** A labelled split folder loaded into the cache. */
    record Split(List<String> classes, ImageCache cache, List<BatchLoader.Sample> samples) {}

    static Split load(Path dir, List<String> classes, int maxImages, PretrainContext ctx) throws IOException {
        ImageFolder f = ImageFolder.scan(dir, ctx.strict());
        f.warnings().forEach(Warnings::warn);
        if (classes != null && !f.classNames().equals(classes)) {
            throw new UserException(dir + ": classes " + f.classNames() + " differ from the training split's " + classes);
        }
        List<ImageFolder.Item> items = new ArrayList<>(f.items());
        if (maxImages > 0 && items.size() > maxImages) {
            java.util.Collections.shuffle(items, new java.util.Random(ctx.seed()));
            items = new ArrayList<>(items.subList(0, maxImages));
            items.sort(java.util.Comparator.comparing(ImageFolder.Item::relativePath));
        }
        List<String> paths = new ArrayList<>();
        items.forEach(i -> paths.add(i.relativePath()));
        ImageCache cache = ImageCache.open(dir, paths, ctx.imageSize(), ctx.cacheDir());
        List<BatchLoader.Sample> samples = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            if (cache.pixels(i) != null) {
                samples.add(new BatchLoader.Sample(i, f.classNames().indexOf(items.get(i).className())));
            } else if (ctx.strict()) {
                throw new UserException(dir.resolve(paths.get(i)) + ": " + cache.problem(i));
            } else {
                Warnings.warn(dir.resolve(paths.get(i)) + ": " + cache.problem(i) + "; skipped");
            }
        }
        return new Split(f.classNames(), cache, samples);
    }

    @Override
    public BackboneBundle.Stage run(PretrainContext ctx) throws IOException {
        long t0 = System.nanoTime();
        int size = ctx.imageSize();
        Split train = load(root.resolve("train"), null, maxImages, ctx);
        Split val = load(root.resolve("val"), train.classes(), 0, ctx);
        Split test = Files.isDirectory(root.resolve("test")) ? load(root.resolve("test"), train.classes(), 0, ctx) : null;
        Normalization norm = Normalization.compute(train.cache().pixels(train.samples()));
        int k = train.classes().size();
        int[] counts = new int[k];
        train.samples().forEach(s -> counts[s.label()]++);
        WeightedCrossEntropy loss = new WeightedCrossEntropy(WeightedCrossEntropy.balancedWeights(counts));
        Augmentation aug = new Augmentation(true, Augmentation.Rotation.RIGHT_ANGLE, 0, 0, 0.1, 0.1, 0.1, 0.02);
        Augmenter augmenter = new Augmenter(aug, norm, size);

        Block head = ResNet18.head(k);
        SequentialBlock net = new SequentialBlock().add(ctx.backbone()).add(head);
        SummaryCsv summary = new SummaryCsv(ctx.stageDir().resolve(RunDir.SUMMARY),
                "epoch,train_loss,val_accuracy,seconds");
        double bestVal = -1;
        int bestEpoch = -1;
        byte[] bestWeights = null;
        try (Model model = Model.newInstance("tissue", Devices.compute());
             BatchLoader trainLoader = new BatchLoader(train.cache(), train.samples(), augmenter, true, batch);
             BatchLoader valLoader = new BatchLoader(val.cache(), val.samples(), augmenter, false, 2 * batch)) {
            head.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, ResNet18.FEATURES));
            WeightInit.apply(head, ctx.seed());
            model.setBlock(net);
            try (Trainer trainer = StageLoop.trainer(model, StageLoop.optimizer(lr, 0.05, trainLoader.batchesPerEpoch(true), epochs))) {
                for (int e = 0; e < epochs; e++) {
                    long te = System.nanoTime();
                    double l = StageLoop.epoch(trainer, trainLoader.epoch(ctx.seed(), e, true),
                            trainLoader.batchesPerEpoch(true), (t, sub, b) -> loss.evaluate(
                                    new NDList(sub.create(b.labels())), t.forward(new NDList(input(sub, b)))),
                            name + " epoch " + (e + 1) + "/" + epochs, ctx.progress());
                    double acc = accuracy(net, model.getNDManager(), valLoader);
                    LOG.info(String.format(java.util.Locale.ROOT, "%s epoch %d/%d loss %.4f val accuracy %.4f", name, e + 1,
                            epochs, l, acc));
                    summary.add(e + 1, l, acc, (System.nanoTime() - te) / 1e9);
                    if (acc >= bestVal) {
                        bestVal = acc;
                        bestEpoch = e + 1;
                        bestWeights = weights(net); // backbone and head of the same epoch
                    }
                }
            }
            restore(net, bestWeights, ctx.manager());
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("bestEpoch", bestEpoch);
            metrics.put("valAccuracy", bestVal);
            if (test != null) {
                try (BatchLoader testLoader = new BatchLoader(test.cache(), test.samples(), augmenter, false, 2 * batch)) {
                    metrics.put("testAccuracy", accuracy(net, model.getNDManager(), testLoader));
                }
            }
            Map<String, Object> settings = new LinkedHashMap<>();
            settings.put("epochs", epochs);
            settings.put("batch", batch);
            settings.put("lr", lr);
            settings.put("maxImages", maxImages);
            settings.put("classes", train.classes());
            return new BackboneBundle.Stage(name, "tissue", root.toString(), train.cache().sha256(train.samples()),
                    train.samples().size(), epochs, settings, metrics, (System.nanoTime() - t0) / 1e9);
        }
    }

    static NDArray input(NDManager sub, Batch b) {
        int s = b.imageSize();
        return sub.create(FloatBuffer.wrap(b.images()), new Shape(b.size(), 3, s, s));
    }

    static double accuracy(Block net, NDManager manager, BatchLoader loader) {
        long correct = 0;
        long n = 0;
        for (Iterator<Batch> it = loader.epoch(0, 0, false); it.hasNext(); ) {
            Batch b = it.next();
            try (NDManager sub = manager.newSubManager()) {
                NDArray logits = net.forward(new ParameterStore(sub, false), new NDList(input(sub, b)), false).singletonOrThrow();
                long[] p = logits.argMax(1).toLongArray();
                for (int i = 0; i < p.length; i++) {
                    correct += p[i] == b.labels()[i] ? 1 : 0;
                }
                n += p.length;
            }
        }
        return n == 0 ? Double.NaN : correct / (double) n;
    }

    static byte[] weights(Block block) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bos)) {
            block.saveParameters(out);
        }
        return bos.toByteArray();
    }

    static void restore(Block block, byte[] weights, NDManager manager) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(weights))) {
            block.loadParameters(manager, in);
        } catch (ai.djl.MalformedModelException e) {
            throw new IOException(e);
        }
        Checkpoints.requireGradients(block);
    }
}
