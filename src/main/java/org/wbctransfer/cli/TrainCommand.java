package org.wbctransfer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.wbctransfer.config.Augmentation;
import org.wbctransfer.config.Defaults;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.config.Subset;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.SplitData;
import org.wbctransfer.data.SplitManifest;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.training.ProgressListener;
import org.wbctransfer.training.PseudoLabels;
import org.wbctransfer.training.TrainingListener;
import org.wbctransfer.training.WbcTrainer;
import org.wbctransfer.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code wbc train}: trains ResNet-18 on one training subset and evaluates it once on the test set. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train ResNet-18 (from scratch, or fine-tune a pre-trained backbone with --init) on a WBC training subset, choose the model on a validation"
                + " carve-out of the training data, then evaluate it once on the test split.")
public final class TrainCommand implements Callable<Integer> {

    @Option(names = "--data", defaultValue = Defaults.DATA, description = "Dataset root. Default: ${DEFAULT-VALUE}")
    Path data;

    @Option(names = "--manifest", description = "Split manifest from 'wbc split'. Without it a split is drawn with"
            + " --split-seed and saved in the run directory as split.csv.")
    Path manifest;

    @Option(names = "--split-seed", defaultValue = "0", description = "Seed of the split when no manifest is given. Default: ${DEFAULT-VALUE}")
    long splitSeed;

    @Option(names = "--subset", defaultValue = "WBC_100", description = "WBC_1, WBC_10, WBC_50 or WBC_100. Default: ${DEFAULT-VALUE}")
    String subset;

    @Option(names = "--run-dir", description = "Run directory. Default: runs/<subset>-seed<seed>")
    Path runDir;

    @Option(names = "--resume", description = "Continue an interrupted run from its last checkpoint")
    boolean resume;

    @Option(names = "--image-size", defaultValue = "" + Defaults.IMAGE_SIZE, description = "Working resolution in pixels. Default: ${DEFAULT-VALUE}")
    int imageSize;

    @Option(names = "--batch", defaultValue = "" + Defaults.BATCH, description = "Batch size. Default: ${DEFAULT-VALUE}")
    int batch;

    @Option(names = "--epochs", description = "Epochs. Default by subset: WBC_100 20, WBC_50 30, WBC_10 60, WBC_1 100")
    Integer epochs;

    @Option(names = "--lr", defaultValue = "1e-3", description = "Peak learning rate (AdamW). Default: ${DEFAULT-VALUE}")
    double lr;

    @Option(names = "--weight-decay", defaultValue = "0.05", description = "AdamW weight decay. Default: ${DEFAULT-VALUE}")
    double weightDecay;

    @Option(names = "--warmup-epochs", description = "Linear warm-up before cosine decay. Default: 5%% of the epochs")
    Double warmupEpochs;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of weights, shuffling and augmentation. Default: ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--val-percent", defaultValue = "" + Defaults.VAL_PERCENT, description = "Validation carve-out per class (percent). Default: ${DEFAULT-VALUE}")
    int valPercent;

    @Option(names = "--min-val-subset", defaultValue = "" + Defaults.MIN_VAL_SUBSET, description = "Subsets smaller than this train on all images and keep the last epoch. Default: ${DEFAULT-VALUE}")
    int minValSubset;

    @Option(names = "--no-class-weights", description = "Plain (unweighted) cross-entropy")
    boolean noClassWeights;

    @Option(names = "--no-flip", description = "No random flips")
    boolean noFlip;

    @Option(names = "--rotation", defaultValue = "RIGHT_ANGLE", description = "NONE, RIGHT_ANGLE or FREE. Default: ${DEFAULT-VALUE}")
    Augmentation.Rotation rotation;

    @Option(names = "--scale", defaultValue = "0", description = "Random zoom range (0.1 = +-10%%). Default: ${DEFAULT-VALUE}")
    double scale;

    @Option(names = "--translate", defaultValue = "0", description = "Random shift (fraction of the side). Default: ${DEFAULT-VALUE}")
    double translate;

    @Option(names = "--jitter", split = ",", defaultValue = "0.1,0.1,0.1,0.02",
            description = "Colour jitter: brightness,contrast,saturation,hue. Default: ${DEFAULT-VALUE}")
    double[] jitter;

    @Option(names = "--zoom", split = ",", description = "Random zoom range min,max, drawn log-uniformly (0.5,2 ="
            + " the cell at half to twice its size; zooming out fills the frame with the border's mean colour):"
            + " other microscopes show cells at other scales. Default: off")
    double[] zoom;

    @Option(names = "--stain", defaultValue = "0", description = "HED stain jitter: per-stain scale U(1-s,1+s) and"
            + " shift U(-s,s) after colour deconvolution (Tellez et al. 2018; 0.05 light, 0.2 strong). Default: ${DEFAULT-VALUE}")
    double stain;

    @Option(names = "--grey", defaultValue = "0", description = "Probability of a greyscale image. Default: ${DEFAULT-VALUE}")
    double grey;

    @Option(names = "--blur", defaultValue = "0", description = "Largest Gaussian blur sigma (pixels at the working size),"
            + " applied to half the images. Default: ${DEFAULT-VALUE}")
    double blur;

    @Option(names = "--jpeg", defaultValue = "0", description = "Probability of a JPEG round trip at quality 30-95."
            + " Default: ${DEFAULT-VALUE}")
    double jpeg;

    @Mixin
    CacheOption cacheOption;

    @Option(names = "--norm", defaultValue = Defaults.NORM, description = "Normalisation layers: batch (torchvision's"
            + " BatchNorm), group (GroupNorm, 32 groups) or layer (LayerNorm, GroupNorm of one group); the last two keep"
            + " no statistics of the training images, for transfer to other microscopes; from scratch only (backbones"
            + " are BatchNorm). Default: ${DEFAULT-VALUE}")
    String norm;

    @Option(names = "--init", description = "Fine-tune from this pre-trained backbone bundle ('wbc pretrain') with a new head")
    Path init;

    @Option(names = "--backbone-lr-scale", description = "Backbone learning rate as a fraction of the head's. Default: 0.1 with --init, else 1")
    Double backboneLrScale;

    @Option(names = "--freeze-stages", defaultValue = "0", description = "Freeze the first k backbone stages (stem, layer1..4; BatchNorm statistics frozen too). Default: ${DEFAULT-VALUE}")
    int freezeStages;

    @Option(names = "--unfreeze-epoch", defaultValue = "0", description = "Epoch (1-based count of epochs done) after which frozen stages train again; 0 keeps them frozen. Default: ${DEFAULT-VALUE}")
    int unfreezeEpoch;

    @Option(names = "--pseudo-labels", description = "Self-training: this model (run directory or bundle, trained on the"
            + " same split with no more labels than --subset) labels the split's other training images, and the confident"
            + " ones join the training set. Test images are never used")
    Path pseudoTeacher;

    @Option(names = "--pseudo-threshold", defaultValue = "" + PseudoLabels.DEFAULT_THRESHOLD, description = "Smallest top probability of the teacher"
            + " for a pseudo-labelled image. Default: ${DEFAULT-VALUE}")
    double pseudoThreshold;

    @Option(names = "--label-smoothing", defaultValue = "0", description = "Label smoothing eps: targets (1 - eps) onehot"
            + " + eps / K, in [0, 0.5). Default: ${DEFAULT-VALUE} (off)")
    double labelSmoothing;

    @Option(names = "--mixup", defaultValue = "0", description = "Mixup alpha: each training batch blended with a"
            + " permutation of itself, weight ~ Beta(alpha, alpha). Default: ${DEFAULT-VALUE} (off)")
    double mixup;

    @Option(names = "--cutmix", defaultValue = "0", description = "CutMix alpha: a box of a permutation of the batch"
            + " pasted into each training batch; with --mixup each batch takes one of the two. Default: ${DEFAULT-VALUE} (off)")
    double cutmix;

    @Option(names = "--ema", defaultValue = "0", description = "Decay of an exponential moving average of the weights"
            + " (e.g. 0.999), which is validated, chosen and saved as the model. Default: ${DEFAULT-VALUE} (off)")
    double ema;

    @Option(names = "--cell-crop", paramLabel = "DIR", description = "Cut every image to a square around the white cell"
            + " that the segmentation network in DIR finds (a masks pre-training stage's folder, or its 'segmenter'"
            + " folder), so cells from other microscopes appear at one scale; the model keeps a copy and frames every"
            + " later input alike. Default: the centre square")
    Path cellCrop;

    @Option(names = "--colour-standard", description = "Give every image, after the resize, the colour statistics of"
            + " Raabin's training images (per-image mean and spread of L*, a*, b* moved to fixed values), in training"
            + " and in every later use of the model, so another lab's stain reaches the network in Raabin's colours."
            + " Default: off")
    boolean colourStandard;

    @Option(names = "--channels-last", description = "Run the network on channels-last batches (same results up to float"
            + " rounding; faster training at 96-128 px on this CPU, slower at 64 px: measure with 'wbc bench --channels-last')")
    boolean channelsLast;

    @Option(names = "--no-evaluate", description = "Do not evaluate on the test split after training")
    boolean noEvaluate;

    @Mixin
    ProgressOption progress;

    @Mixin
    StrictOption strictOption;

    @Override
    public Integer call() throws Exception {
        String sub = Subset.canonical(subset);
        if (runDir == null) {
            runDir = Path.of("runs", sub + "-seed" + seed);
        }
        if (resume) {
            RunDir dir = RunDir.of(runDir);
            if (dir.state() == RunDir.State.FINISHED && Files.isRegularFile(dir.model().resolve(Classifier.METADATA))) {
                // Resuming would re-save the model (losing a fitted temperature) and read the test
                // split a second time: a model's test images are looked at once.
                System.out.println(runDir + ": already trained and tested; nothing to resume (model in "
                        + dir.model() + ", test evaluation in " + dir.testEval() + ")");
                Path report = dir.testEval().resolve("report.txt");
                if (Files.isRegularFile(report)) {
                    System.out.print(Files.readString(report));
                }
                return 0;
            }
            return train(dir.resumeConfig());
        }
        boolean fresh = !Files.exists(runDir);
        try {
            return train(newConfig(sub));
        } catch (UserException e) {
            // Bad input found before the first checkpoint: leave no half-made run directory
            // (split.csv, config.json) behind that would make the next attempt need --resume.
            if (fresh && !Files.exists(RunDir.of(runDir).last())) {
                org.wbctransfer.util.AtomicFiles.deleteTree(runDir);
            }
            throw e;
        }
    }

    private int train(TrainConfig config) throws Exception {
        WbcTrainer trainer = new WbcTrainer(config, List.<TrainingListener>of(new ProgressListener(progress.bars())),
                strictOption.strict, channelsLast);
        long t0 = System.nanoTime();
        if (noEvaluate) {
            trainer.fit(runDir, resume).close();
        } else {
            printEvaluation(trainer.fitThenTest(runDir, resume), RunDir.of(runDir).testEval());
        }
        System.out.printf("trained in %.1f min; model in %s%n", (System.nanoTime() - t0) / 6e10, RunDir.of(runDir).model());
        return 0;
    }

    private TrainConfig newConfig(String sub) throws Exception {
        RunDir.of(runDir).requireNoRun();
        if (init != null) {
            org.wbctransfer.model.BackboneBundle.readMetadata(init); // fail before anything is written
        }
        Path teacher = pseudoTeacher == null ? null : ModelDirs.resolve(pseudoTeacher);
        if (jitter.length != 4) {
            throw new UserException("--jitter needs 4 comma-separated values (brightness,contrast,saturation,hue)");
        }
        Path m = manifest;
        if (m == null) {
            SplitManifest drawn = SplitData.draw(data, splitSeed, null, imageSize, cacheOption.dir, strictOption.strict,
                    StrictOption::warn);
            m = runDir.resolve("split.csv");
            drawn.write(m);
        }
        if (zoom != null && zoom.length != 2) {
            throw new UserException("--zoom needs 2 comma-separated values (min,max)");
        }
        Augmentation aug = new Augmentation(!noFlip, rotation, scale, translate, jitter[0], jitter[1], jitter[2], jitter[3],
                zoom == null ? 0 : zoom[0], zoom == null ? 0 : zoom[1], stain, grey, blur, jpeg);
        return TrainConfig.builder().setData(data, m).setSubset(sub).optImageSize(imageSize).optBatchSize(batch)
                .optEpochs(epochs).optLearningRate(lr).optWeightDecay(weightDecay).optWarmupEpochs(warmupEpochs)
                .optSeed(seed).optAugmentation(aug).optValidation(valPercent, minValSubset)
                .optClassWeighted(!noClassWeights).optCacheDir(cacheOption.dir)
                .optInit(init, backboneLrScale)
                .optFreeze(freezeStages, unfreezeEpoch)
                .optPseudoLabels(teacher, pseudoThreshold)
                .optNorm(TrainConfig.Norm.parse(norm))
                .optLabelSmoothing(labelSmoothing).optMixing(mixup, cutmix).optEmaDecay(ema).optCellCrop(cellCrop).optColourStandard(colourStandard)
                .build();
    }

    /** The metrics as text, then where their reports were written. */
    static void printEvaluation(Evaluation.Result r, Path written) {
        System.out.print(Evaluation.reportText(r));
        System.out.println("evaluation written to " + written);
    }
}
