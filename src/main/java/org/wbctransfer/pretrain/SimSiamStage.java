package org.wbctransfer.pretrain;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.Trainer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.wbctransfer.config.Augmentation;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.Normalization;
import org.wbctransfer.model.BackboneBundle;
import org.wbctransfer.model.Devices;
import org.wbctransfer.model.ResNet18;
import org.wbctransfer.model.WeightInit;
import org.wbctransfer.training.SummaryCsv;
import org.wbctransfer.util.UserException;

/**
 * Self-supervised stage: SimSiam (Chen and He, "Exploring Simple Siamese Representation
 * Learning", CVPR 2021) on a folder of unlabeled images. Chosen over contrastive methods because
 * it needs no negative pairs (so no large batches) and no momentum encoder (so one copy of the
 * network), which keeps it trainable on a CPU.
 *
 * <p>Two augmented views of each image pass through backbone and projector (z) and predictor (p);
 * the loss is {@code -(cos(p1, sg(z2)) + cos(p2, sg(z1))) / 2}. The stop-gradient is what keeps
 * the representation from collapsing to a constant; the per-epoch standard deviation of the
 * L2-normalized z over the batch is recorded to show that it did not (about 1/sqrt(512) = 0.044
 * when healthy, near 0 when collapsed).
 */
public final class SimSiamStage implements PretrainStage {

    private static final Logger LOG = LoggerFactory.getLogger(SimSiamStage.class);

    static final int PROJECTION = 512;
    static final int PREDICTOR_HIDDEN = 128;
    static final double WEIGHT_DECAY = 0.05;

    /**
     * Much stronger than the supervised recipe: the views must differ enough that matching them
     * forces the network to ignore orientation, framing and staining and keep tissue structure.
     * Histopathology has no canonical orientation, so free rotation is label-free here.
     */
    static final Augmentation AUGMENTATION = new Augmentation(true, Augmentation.Rotation.FREE, 0.2, 0.1,
            0.4, 0.4, 0.4, 0.05);

    private final UnlabeledStageSettings cfg;

    /** The settings as {@link UnlabeledStageSettings} describes them. */
    public SimSiamStage(String name, Path root, int epochs, int batch, double lr, int maxImages, ClassificationGuard guard) {
        this.cfg = UnlabeledStageSettings.of("SimSiam", name, root, epochs, batch, lr, maxImages, guard);
    }

    @Override
    public void checkInput() throws IOException {
        cfg.checkInput();
    }

    @Override
    public BackboneBundle.Stage run(PretrainContext ctx) throws IOException {
        long t0 = System.nanoTime();
        int size = ctx.imageSize();
        UnlabeledImages data = cfg.load(ctx);
        if (data.samples().size() < 2) {
            throw new UserException(cfg.root() + ": SimSiam needs at least 2 images, found " + data.samples().size());
        }
        Normalization norm = Normalization.compute(data.pixels());
        Augmenter augmenter = new Augmenter(AUGMENTATION, norm, size);

        // One block for backbone and heads so the trainer updates all of them; it yields (z, p).
        SequentialBlock heads = new SequentialBlock().add(projector())
                .add(new ParallelBlock(SimSiamStage::zAndP, List.of(Blocks.identityBlock(), predictor())));
        SequentialBlock net = new SequentialBlock().add(ctx.backbone()).add(heads);
        SummaryCsv summary = new SummaryCsv(ctx.stageDir().resolve(RunDir.SUMMARY),
                "epoch,train_loss,z_std,seconds");
        double lastLoss = Double.NaN;
        double lastStd = Double.NaN;
        try (Model model = Model.newInstance("simsiam", Devices.compute());
             BatchLoader loader = new BatchLoader(data.cache(), data.samples(), augmenter, true, cfg.batch())) {
            heads.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(2, ResNet18.FEATURES));
            WeightInit.apply(heads, ctx.seed());
            model.setBlock(net);
            int steps = loader.batchesPerEpoch(true);
            try (Trainer trainer = StageLoop.trainer(model, StageLoop.optimizer(cfg.lr(), WEIGHT_DECAY, steps, cfg.epochs()))) {
                for (int e = 0; e < cfg.epochs(); e++) {
                    long te = System.nanoTime();
                    double[] std = new double[2]; // sum, count
                    double l = StageLoop.epoch(trainer, loader.twoViewEpoch(ctx.seed(), e), steps, (t, sub, pair) -> {
                        NDList o1 = t.forward(new NDList(TissueStage.input(sub, pair.first())));
                        NDList o2 = t.forward(new NDList(TissueStage.input(sub, pair.second())));
                        NDArray z1 = o1.get(0).stopGradient();
                        NDArray z2 = o2.get(0).stopGradient();
                        std[0] += normalizedStd(z1) + normalizedStd(z2);
                        std[1] += 2;
                        return negativeCosine(o1.get(1), z2).add(negativeCosine(o2.get(1), z1)).mul(0.5f);
                    }, cfg.name() + " epoch " + (e + 1) + "/" + cfg.epochs(), ctx.progress());
                    lastLoss = l;
                    lastStd = std[0] / Math.max(1, std[1]);
                    LOG.info(String.format(Locale.ROOT, "%s epoch %d/%d loss %.4f z std %.4f (collapse near 0, healthy ~%.3f)",
                            cfg.name(), e + 1, cfg.epochs(), l, lastStd, 1 / Math.sqrt(PROJECTION)));
                    summary.add(e + 1, l, lastStd, (System.nanoTime() - te) / 1e9);
                }
            }
        }
        Map<String, Object> metrics = UnlabeledStageSettings.metrics(lastLoss, data);
        metrics.put("zStd", lastStd);
        metrics.put("zStdHealthy", 1 / Math.sqrt(PROJECTION));
        Map<String, Object> settings = cfg.recorded(WEIGHT_DECAY);
        settings.put("projector", "linear-bn-relu-linear-bn " + ResNet18.FEATURES + "-" + PROJECTION + "-" + PROJECTION);
        settings.put("predictor", "linear-bn-relu-linear " + PROJECTION + "-" + PREDICTOR_HIDDEN + "-" + PROJECTION);
        settings.put("augmentation", AUGMENTATION.toString());
        return new BackboneBundle.Stage(cfg.name(), "simsiam", cfg.root().toString(), data.sha256(), data.samples().size(), cfg.epochs(),
                settings, metrics, (System.nanoTime() - t0) / 1e9);
    }

    static Block projector() {
        // Linear layers followed by BatchNorm carry no bias (BN's shift replaces it); the output BN
        // has no affine part, as in the reference implementation.
        return new SequentialBlock()
                .add(Linear.builder().setUnits(PROJECTION).optBias(false).build())
                .add(BatchNorm.builder().build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(PROJECTION).optBias(false).build())
                .add(BatchNorm.builder().optCenter(false).optScale(false).build());
    }

    static Block predictor() {
        // The bottleneck (512 -> 128 -> 512) is what the paper found necessary for stable training.
        return new SequentialBlock()
                .add(Linear.builder().setUnits(PREDICTOR_HIDDEN).optBias(false).build())
                .add(BatchNorm.builder().build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(PROJECTION).optBias(true).build());
    }

    private static NDList zAndP(List<NDList> branches) {
        return new NDList(branches.get(0).singletonOrThrow(), branches.get(1).singletonOrThrow());
    }

    static NDArray normalize(NDArray x) {
        return x.div(x.norm(new int[] {1}, true).add(1e-6f));
    }

    /** Mean over the batch of -cos(p, z); z must already be detached. */
    static NDArray negativeCosine(NDArray p, NDArray z) {
        return normalize(p).mul(normalize(z)).sum(new int[] {1}).mean().neg();
    }

    /** Per-dimension standard deviation over the batch of the L2-normalized z, averaged over dimensions. */
    static double normalizedStd(NDArray z) {
        NDArray n = normalize(z);
        NDArray centred = n.sub(n.mean(new int[] {0}, true));
        return centred.square().mean(new int[] {0}).sqrt().mean().getFloat();
    }
}
