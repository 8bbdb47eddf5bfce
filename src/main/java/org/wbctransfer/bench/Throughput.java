package org.wbctransfer.bench;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.wbctransfer.config.Augmentation;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.Batch;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.ImageCache;
import org.wbctransfer.data.Normalization;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.Devices;
import org.wbctransfer.model.FoldedResNet;
import org.wbctransfer.model.Formats;
import org.wbctransfer.model.OnnxClassifier;
import org.wbctransfer.model.OnnxExport;
import org.wbctransfer.model.ResNet18;
import org.wbctransfer.model.WeightInit;
import org.wbctransfer.training.AdamW;
import org.wbctransfer.training.WeightedCrossEntropy;

/**
 * Measures images per second of the three parts of training: the data pipeline (cache hit,
 * augmentation, batching), a training step (forward, backward, AdamW update) and inference.
 * Steps run the same code as {@code wbc train}; inputs are random so the figures do not depend
 * on the data.
 */
public final class Throughput {

    public record Figures(int size, int batch, double pipeline, double train, double infer) {}

    private Throughput() {}

    /** Images/s of BatchLoader with the standard augmentation over the given cache. */
    public static double pipeline(ImageCache cache, int batch, int images) {
        List<BatchLoader.Sample> samples = new java.util.ArrayList<>();
        for (int i = 0; i < cache.count() && samples.size() < images; i++) {
            if (cache.pixels(i) != null) {
                samples.add(new BatchLoader.Sample(i, 0));
            }
        }
        Augmenter aug = new Augmenter(Augmentation.standard(), Normalization.imagenet(), cache.size());
        try (BatchLoader loader = new BatchLoader(cache, samples, aug, true, batch)) {
            drain(loader, 0); // warm-up: JIT
            long t0 = System.nanoTime();
            int n = drain(loader, 1);
            return n / ((System.nanoTime() - t0) / 1e9);
        }
    }

    private static int drain(BatchLoader loader, int epoch) {
        int n = 0;
        for (Iterator<Batch> it = loader.epoch(1, epoch, true); it.hasNext(); ) {
            n += it.next().size();
        }
        return n;
    }

    /**
     * Levers for the model measurements.
     *
     * @param channelsLast parameters and inputs in channels-last memory format (training and inference)
     * @param fp16Infer inference on a float16 copy of the model with float16 input (bfloat16, the
     *     useful one on CPUs, is not possible with DJL 0.36: see {@link Formats#float16})
     * @param foldBatchNorm float32 inference on {@link FoldedResNet}, as {@code Classifier} runs
     *     it; false times the network with its BatchNorm layers
     */
    public record ModelOptions(boolean channelsLast, boolean fp16Infer, boolean foldBatchNorm) {}

    /** Untimed steps before the timed ones: max(2, steps / 5). The peer gets the same number. */
    public static int warmup(int steps) {
        return Math.max(2, steps / 5);
    }

    /**
     * Images/s of training steps and of inference at one size, after warm-up steps: {train, infer
     * on libtorch, infer on ONNX Runtime}.
     */
    public static double[] model(int size, int batch, int steps, ModelOptions opts) {
        try (Model model = Model.newInstance("bench", Devices.compute())) {
            SequentialBlock block = ResNet18.classifier(5);
            model.setBlock(block);
            block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, size, size));
            WeightInit.apply(block, 0);
            if (opts.channelsLast()) {
                Formats.requireChannelsLast(size);
                block = Formats.convertedCopy(block, 5, Formats::channelsLast, true);
                model.setBlock(block);
            }
            AdamW opt = AdamW.builder().build();
            float[] data = randomImages(batch, size);
            int[] labels = new int[batch];
            for (int i = 0; i < batch; i++) {
                labels[i] = i % 5;
            }
            Shape shape = new Shape(batch, 3, size, size);
            WeightedCrossEntropy loss = new WeightedCrossEntropy(new float[] {1, 1, 1, 1, 1});
            double train;
            try (Trainer trainer = model.newTrainer(new DefaultTrainingConfig(loss).optOptimizer(opt)
                    .optDevices(new Device[] {model.getNDManager().getDevice()}))) {
                train = rate(steps, batch, () -> {
                    try (NDManager sub = trainer.getManager().newSubManager()) {
                        NDArray x = sub.create(FloatBuffer.wrap(data), shape);
                        if (opts.channelsLast()) {
                            x = Formats.channelsLast(x);
                        }
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDArray logits = trainer.forward(new NDList(x)).singletonOrThrow();
                            gc.backward(loss.evaluate(new NDList(sub.create(labels)), new NDList(logits)));
                        }
                        trainer.step();
                    }
                });
            }
            // DJL runs this without autograd (grad mode is on only inside a GradientCollector).
            double infer;
            if (opts.fp16Infer()) {
                SequentialBlock half = Formats.convertedCopy(block, 5, Formats::float16, false);
                infer = inferRate(model.getNDManager(), data, shape, steps,
                        x -> layers(half, opts.channelsLast(), x.toType(DataType.FLOAT16, false)).toType(DataType.FLOAT32, false));
            } else if (opts.foldBatchNorm()) {
                FoldedResNet folded = FoldedResNet.of(block, model.getNDManager(), opts.channelsLast());
                infer = inferRate(model.getNDManager(), data, shape, steps, folded::forward);
            } else {
                SequentialBlock net = block;
                infer = inferRate(model.getNDManager(), data, shape, steps, x -> layers(net, opts.channelsLast(), x));
            }
            // ONNX graphs are built from default-format weights; with channels-last the row stays empty.
            double onnx = opts.channelsLast() ? Double.NaN : onnxRate(block, size, batch, steps, data);
            return new double[] {train, infer, onnx};
        }
    }

    /**
     * Inference images/s of the same weights on ONNX Runtime, as {@code wbc predict} runs a
     * bundle's {@code model.onnx}: BatchNorm folded, the probabilities copied out, intra-op threads
     * as predict takes them ({@link OnnxClassifier#threads()}).
     */
    private static double onnxRate(SequentialBlock block, int size, int batch, int steps, float[] data) {
        FoldedResNet.Weights w;
        try (NDManager m = NDManager.newBaseManager(Devices.compute());
                FoldedResNet folded = FoldedResNet.of(block, m, false)) {
            w = folded.weights();
        }
        try (OnnxClassifier onnx = OnnxClassifier.open(OnnxExport.bytes(w, size), OnnxClassifier.threads())) {
            return rate(steps, batch, () -> onnx.probabilities(data, batch, size, false, 1.0));
        }
    }

    /**
     * Inference images/s with BatchNorm run as layers and folded into the convolutions, measured
     * alternately in the same process on the same weights (two training-mode forward passes
     * first, so the running statistics are not the identity), so that the two are compared
     * under the same conditions: {@code rounds} x {unfolded, folded}.
     */
    public static double[][] foldedVersusLayers(int size, int batch, int steps, int rounds, boolean channelsLast) {
        try (Model model = Model.newInstance("bench", Devices.compute())) {
            SequentialBlock block = ResNet18.classifier(5);
            model.setBlock(block);
            block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, size, size));
            WeightInit.apply(block, 0);
            if (channelsLast) {
                Formats.requireChannelsLast(size);
                block = Formats.convertedCopy(block, 5, Formats::channelsLast, false);
            }
            float[] data = randomImages(batch, size);
            Shape shape = new Shape(batch, 3, size, size);
            NDManager root = model.getNDManager();
            // Training-mode forward passes move the running statistics away from (0, 1).
            for (int i = 0; i < 2; i++) {
                try (NDManager sub = root.newSubManager()) {
                    NDArray x = sub.create(FloatBuffer.wrap(data), shape);
                    block.forward(new ParameterStore(sub, false), new NDList(channelsLast ? Formats.channelsLast(x) : x), true);
                }
            }
            SequentialBlock net = block;
            try (FoldedResNet folded = FoldedResNet.of(block, root, channelsLast)) {
                double[][] out = new double[rounds][];
                for (int round = 0; round < rounds; round++) {
                    out[round] = new double[] {inferRate(root, data, shape, steps, x -> layers(net, channelsLast, x)),
                        inferRate(root, data, shape, steps, folded::forward)};
                }
                return out;
            }
        }
    }

    /**
     * Inference images/s of a trained classifier's probabilities on libtorch (its BatchNorm-folded
     * network, as predict, evaluate and serve run it) and on ONNX Runtime (its graph as {@code wbc
     * export} writes it, for {@code size} px inputs, in a session of {@code threads} intra-op
     * threads), alternately in one process on the same batch: {@code rounds} x {torch, onnx}. The
     * engine timed first alternates between rounds. Both include copying the batch in and the
     * probabilities out, as the commands do.
     */
    public static double[][] onnxVersusTorch(Classifier c, int size, int batch, int steps, int rounds, int threads) {
        float[] data = randomImages(batch, size);
        try (OnnxClassifier onnx = OnnxClassifier.open(OnnxExport.bytes(c, size), threads)) {
            double t = c.metadata().softmaxTemperature();
            double[][] out = new double[rounds][2];
            for (int round = 0; round < rounds; round++) {
                for (int k = 0; k < 2; k++) {
                    boolean torch = (k == 0) == (round % 2 == 0);
                    out[round][torch ? 0 : 1] = rate(steps, batch, torch ? () -> c.probabilities(data, batch, size)
                            : () -> onnx.probabilities(data, batch, size, false, t));
                }
            }
            return out;
        }
    }

    /** A fixed N(0, 1) batch (N, 3, size, size), the same in every measurement. */
    private static float[] randomImages(int batch, int size) {
        float[] data = new float[batch * 3 * size * size];
        Random r = new Random(0);
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) r.nextGaussian();
        }
        return data;
    }

    /** Logits of the network with its BatchNorm layers, in inference mode. */
    private static NDArray layers(SequentialBlock net, boolean channelsLast, NDArray x) {
        NDArray in = channelsLast ? Formats.channelsLast(x) : x;
        return net.forward(new ParameterStore(x.getManager(), false), new NDList(in), false).singletonOrThrow();
    }

    /** Images/s of {@code forward} on the batch, after warm-up steps; each step copies the logits out. */
    private static double inferRate(NDManager root, float[] data, Shape shape, int steps,
            java.util.function.Function<NDArray, NDArray> forward) {
        return rate(steps, (int) shape.get(0), () -> {
            try (NDManager sub = root.newSubManager()) {
                forward.apply(sub.create(FloatBuffer.wrap(data), shape)).toFloatArray();
            }
        });
    }

    /** Images/s of {@code step} on batches of {@code batch}: {@link #warmup} untimed steps, then {@code steps} timed. */
    private static double rate(int steps, int batch, Runnable step) {
        int warm = warmup(steps);
        for (int s = 0; s < warm; s++) {
            step.run();
        }
        long t0 = System.nanoTime();
        for (int s = 0; s < steps; s++) {
            step.run();
        }
        return steps * (double) batch / ((System.nanoTime() - t0) / 1e9);
    }

    /** Peak resident set size of this process in MiB (Linux), or -1. */
    public static double peakRssMiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
