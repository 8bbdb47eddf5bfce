package org.wbctransfer.pretrain;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.util.PairList;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.wbctransfer.config.Augmentation;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.Batch;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.Normalization;
import org.wbctransfer.model.BackboneBundle;
import org.wbctransfer.model.Devices;
import org.wbctransfer.model.NarrowConv2d;
import org.wbctransfer.model.ResNet18;
import org.wbctransfer.model.ResNetBackbone;
import org.wbctransfer.model.WeightInit;
import org.wbctransfer.training.SummaryCsv;
import org.wbctransfer.util.UserException;

/**
 * Self-supervised stage, the study's choice: an autoencoder that reconstructs the (normalized)
 * input image from the backbone's deepest feature map (layer4, stride 32, 512 channels). Every
 * pixel has to pass through the backbone's 1/32-resolution bottleneck, so the backbone must
 * encode the tissue's colour and structure.
 *
 * <p>The decoder is deliberately light (five nearest-neighbour x2 upsamplings, each followed by
 * a 3x3 convolution, BatchNorm and ReLU, channels 256, 128, 64, 32, 16, then a 3x3 convolution to
 * 3 channels, about 0.5 M parameters): a strong decoder could reconstruct well from weak
 * features and teach the backbone less. Nearest upsampling plus convolution avoids the
 * checkerboard artefacts of transposed convolutions. 5 % of the images are held out and their
 * reconstruction error reported, so a user can tell learning from memorising.
 */
public final class AutoencoderStage implements PretrainStage {

    private static final Logger LOG = LoggerFactory.getLogger(AutoencoderStage.class);

    static final int[] DECODER_CHANNELS = {256, 128, 64, 32, 16};
    static final double HELD_OUT = 0.05;
    static final double WEIGHT_DECAY = 0.05;

    /**
     * Only transformations that keep the image an exact target: flips and 90-degree rotations copy
     * pixels. Resampling or colour jitter would add nothing a reconstruction can learn from.
     */
    static final Augmentation AUGMENTATION = new Augmentation(true, Augmentation.Rotation.RIGHT_ANGLE, 0, 0, 0, 0, 0, 0);

    private final UnlabeledStageSettings cfg;

    /** The settings as {@link UnlabeledStageSettings} describes them; {@code maxImages} includes the held-out ones. */
    public AutoencoderStage(String name, Path root, int epochs, int batch, double lr, int maxImages, ClassificationGuard guard) {
        this.cfg = UnlabeledStageSettings.of("the autoencoder", name, root, epochs, batch, lr, maxImages, guard);
    }

    @Override
    public void checkInput() throws IOException {
        cfg.checkInput();
    }

    @Override
    public BackboneBundle.Stage run(PretrainContext ctx) throws IOException {
        long t0 = System.nanoTime();
        int size = ctx.imageSize();
        UnlabeledImages all = cfg.load(ctx);
        List<BatchLoader.Sample> shuffled = new ArrayList<>(all.samples());
        // A separate stream from the subset draw, so the held-out images are not the first drawn.
        Collections.shuffle(shuffled, new Random(ctx.seed() ^ 0x5DEECE66DL));
        int nHeld = shuffled.size() >= 4 ? Math.max(1, (int) Math.round(shuffled.size() * HELD_OUT)) : 0;
        UnlabeledImages held = all.subset(sorted(shuffled.subList(0, nHeld)));
        UnlabeledImages train = all.subset(sorted(shuffled.subList(nHeld, shuffled.size())));
        if (train.samples().size() < 2) {
            throw new UserException(cfg.root() + ": the autoencoder needs at least 2 training images, found "
                    + train.samples().size());
        }
        Normalization norm = Normalization.compute(train.pixels());
        Augmenter augmenter = new Augmenter(AUGMENTATION, norm, size);

        Block decoder = decoder();
        Reconstruction net = new Reconstruction(ctx.backbone(), decoder);
        SummaryCsv summary = new SummaryCsv(ctx.stageDir().resolve(RunDir.SUMMARY),
                "epoch,train_loss,heldout_mse,seconds");
        double lastLoss = Double.NaN;
        double[] heldMse = {Double.NaN, Double.NaN};
        try (Model model = Model.newInstance("autoencoder", Devices.compute());
             BatchLoader trainLoader = new BatchLoader(train.cache(), train.samples(), augmenter, true, cfg.batch());
             BatchLoader heldLoader = new BatchLoader(held.cache(), held.samples(), augmenter, false, 2 * cfg.batch())) {
            decoder.initialize(model.getNDManager(), DataType.FLOAT32, encodedShape(new Shape(2, 3, size, size)));
            WeightInit.apply(decoder, ctx.seed());
            model.setBlock(net);
            int steps = trainLoader.batchesPerEpoch(true);
            try (Trainer trainer = StageLoop.trainer(model, StageLoop.optimizer(cfg.lr(), WEIGHT_DECAY, steps, cfg.epochs()))) {
                for (int e = 0; e < cfg.epochs(); e++) {
                    long te = System.nanoTime();
                    double l = StageLoop.epoch(trainer, trainLoader.epoch(ctx.seed(), e, true), steps, (t, sub, b) -> {
                        NDArray x = TissueStage.input(sub, b);
                        return t.forward(new NDList(x)).singletonOrThrow().sub(x).square().mean();
                    }, cfg.name() + " epoch " + (e + 1) + "/" + cfg.epochs(), ctx.progress());
                    lastLoss = l;
                    if (nHeld > 0) {
                        heldMse = heldOutMse(net, model.getNDManager(), heldLoader);
                    }
                    LOG.info(String.format(Locale.ROOT, "%s epoch %d/%d loss %.4f held-out mse %.4f", cfg.name(), e + 1,
                            cfg.epochs(), l, heldMse[0]));
                    summary.add(e + 1, l, heldMse[0], (System.nanoTime() - te) / 1e9);
                }
            }
        }
        Map<String, Object> metrics = UnlabeledStageSettings.metrics(lastLoss, all);
        metrics.put("heldOutImages", nHeld);
        if (nHeld > 0) {
            metrics.put("heldOutMse", heldMse[0]);
            // What predicting the mean colour scores: reconstructions must beat it to mean anything.
            metrics.put("heldOutMeanImageMse", heldMse[1]);
        }
        Map<String, Object> settings = cfg.recorded(WEIGHT_DECAY);
        settings.put("heldOutFraction", HELD_OUT);
        settings.put("decoder", "layer4 -> 5x(nearest x2, conv3x3-bn-relu) " + java.util.Arrays.toString(DECODER_CHANNELS)
                + " -> conv3x3 3");
        settings.put("augmentation", AUGMENTATION.toString());
        return new BackboneBundle.Stage(cfg.name(), "autoencoder", cfg.root().toString(), train.sha256(), train.samples().size(),
                cfg.epochs(), settings, metrics, (System.nanoTime() - t0) / 1e9);
    }

    private static List<BatchLoader.Sample> sorted(List<BatchLoader.Sample> s) {
        List<BatchLoader.Sample> out = new ArrayList<>(s);
        out.sort(java.util.Comparator.comparingInt(BatchLoader.Sample::cacheIndex));
        return out;
    }

    /** Layer4's output shape for an input shape: each of the five stride-2 steps rounds up. */
    static Shape encodedShape(Shape input) {
        long h = input.get(2);
        long w = input.get(3);
        for (int i = 0; i < 5; i++) {
            h = (h + 1) / 2;
            w = (w + 1) / 2;
        }
        return new Shape(input.get(0), ResNet18.FEATURES, h, w);
    }

    static Block decoder() {
        SequentialBlock d = new SequentialBlock();
        for (int ch : DECODER_CHANNELS) {
            d.add(new LambdaBlock(list -> new NDList(upsample2x(list.singletonOrThrow())), "upsample2x"))
                    .add(conv(ch, false))
                    .add(BatchNorm.builder().optEpsilon(1e-5f).optMomentum(0.9f).build())
                    .add(Activation.reluBlock());
        }
        // Linear output: the target is a normalized image, unbounded on both sides.
        return d.add(new NarrowConv2d(convBuilder(3, true)));
    }

    private static Block conv(int filters, boolean bias) {
        return convBuilder(filters, bias).build();
    }

    private static Conv2d.Builder convBuilder(int filters, boolean bias) {
        return Conv2d.builder().setFilters(filters).setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1))
                .optBias(bias);
    }

    /** Nearest-neighbour x2 upsampling of (N, C, H, W) with PyTorch's native kernel (mode 0 = nearest). */
    static NDArray upsample2x(NDArray x) {
        Shape s = x.getShape();
        return x.getNDArrayInternal().interpolation(new long[] {2 * s.get(2), 2 * s.get(3)}, 0, false);
    }

    /** Mean squared error per pixel value on the held-out images, and that of predicting the mean image (0). */
    static double[] heldOutMse(Block net, NDManager manager, BatchLoader loader) {
        double se = 0;
        double base = 0;
        long n = 0;
        for (Iterator<Batch> it = loader.epoch(0, 0, false); it.hasNext(); ) {
            Batch b = it.next();
            try (NDManager sub = manager.newSubManager()) {
                NDArray x = TissueStage.input(sub, b);
                NDArray y = net.forward(new ParameterStore(sub, false), new NDList(x), false).singletonOrThrow();
                se += y.sub(x).square().sum().getFloat();
                base += x.square().sum().getFloat();
                n += x.size();
            }
        }
        return n == 0 ? new double[] {Double.NaN, Double.NaN} : new double[] {se / n, base / n};
    }

    /**
     * Backbone (up to layer4) and decoder as one block, so that one trainer updates both and the
     * backbone's pooling stage, which reconstruction does not use, is bypassed.
     */
    static final class Reconstruction extends AbstractBlock {
        private final ResNetBackbone encoder;
        private final Block decoder;

        Reconstruction(ResNetBackbone encoder, Block decoder) {
            this.encoder = addChildBlock("encoder", encoder);
            this.decoder = addChildBlock("decoder", decoder);
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
            List<NDList> stages = encoder.stageOutputs(ps, inputs, training);
            NDArray y = decoder.forward(ps, stages.get(stages.size() - 1), training, params).singletonOrThrow();
            long h = inputs.head().getShape().get(2);
            long w = inputs.head().getShape().get(3);
            if (y.getShape().get(2) != h || y.getShape().get(3) != w) {
                // Sizes that are not multiples of 32 round up at every stride; crop back.
                y = y.get(new NDIndex(":, :, :{}, :{}", h, w));
            }
            return new NDList(y);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return new Shape[] {inputShapes[0]};
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            // The encoder arrives initialized (often pre-trained); only the decoder is new.
            decoder.initialize(manager, dataType, encodedShape(inputShapes[0]));
        }
    }
}
