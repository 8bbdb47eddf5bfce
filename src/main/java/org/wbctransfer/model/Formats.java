package org.wbctransfer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.ParameterStore;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import org.wbctransfer.util.UserException;

/**
 * Memory formats and precisions for the PyTorch engine, which DJL 0.36 does not expose directly.
 *
 * <p><b>Channels-last.</b> DJL has no {@code memory_format} argument, but PyTorch decides the
 * format from the strides alone: an (N, C, H, W) array whose memory is laid out N, H, W, C is
 * channels-last, and oneDNN convolutions then run on it without reordering to and from their
 * blocked layouts; BatchNorm, ReLU, pooling and additions keep the format. {@link
 * #channelsLast(NDArray)} makes such an array with one copy.
 *
 * <p><b>Converted copies.</b> DJL's {@code Block.cast} is not implemented and a parameter's array
 * cannot be replaced once set, so {@link #convertedCopy} builds a fresh ResNet-18 whose
 * parameters are converted copies (channels-last, float16) of a trained one's.
 *
 * <p>Grad mode needs no lever: DJL's PyTorch engine keeps autograd off outside a
 * {@code GradientCollector}, so inference already runs as under {@code torch.no_grad()}.
 */
public final class Formats {

    /**
     * How far channels-last logits may stray from the default format's on the probe before the
     * format is refused: float rounding gives about 1e-5 here, the faulty kernels 0.01 to 3.
     */
    static final double PROBE_TOLERANCE = 1e-3;

    private static final Map<Integer, Double> PROBED = new ConcurrentHashMap<>();

    private Formats() {}

    /**
     * Refuses channels-last where this process's convolution kernels compute it wrongly. On an AMD
     * EPYC with AVX-512 BF16 (measured 2026-12-02), libtorch 2.7.1's oneDNN runs ResNet-18's last
     * 1x1 stride-2 convolution (256 to 512 channels) in channels-last memory with a kernel whose
     * outputs were off by 2 to 3 against a float64 reference, and training on it moved the gradients
     * by more than their size; the default format, and channels-last with oneDNN held to AVX2, were
     * right. So before a command uses the format it runs a seeded ResNet-18 on a probe batch of
     * {@code size} pixels both ways (a few milliseconds; once per size and process) and throws when
     * the logits differ by more than {@value #PROBE_TOLERANCE}.
     */
    public static void requireChannelsLast(int size) {
        if (!channelsLastIsSound(size)) {
            double diff = PROBED.get(size);
            throw new UserException(String.format(Locale.ROOT, "--channels-last: this CPU's convolution kernels compute"
                    + " the channels-last format wrongly (a probe ResNet-18's logits at %d px differ from the default"
                    + " format's by %.3g); run without --channels-last, or with ONEDNN_MAX_CPU_ISA=AVX2 in the"
                    + " environment", size, diff));
        }
    }

    /** Whether this process computes channels-last ResNet-18 right at {@code size} pixels (see {@link #requireChannelsLast}). */
    public static boolean channelsLastIsSound(int size) {
        return PROBED.computeIfAbsent(size, Formats::channelsLastDifference) <= PROBE_TOLERANCE;
    }

    /** The largest difference between a seeded ResNet-18's logits in both formats on a probe batch. */
    static double channelsLastDifference(int size) {
        try (NDManager m = NDManager.newBaseManager(Devices.compute())) {
            SequentialBlock net = ResNet18.classifier(5);
            net.initialize(m, DataType.FLOAT32, new Shape(2, 3, size, size));
            WeightInit.apply(net, 0);
            // A Java generator, so that the probe leaves the engine's random stream as it was.
            Random rng = new Random(0);
            float[] pixels = new float[2 * 3 * size * size];
            for (int i = 0; i < pixels.length; i++) {
                pixels[i] = (float) rng.nextGaussian();
            }
            NDArray x = m.create(pixels, new Shape(2, 3, size, size));
            NDArray want = net.forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow();
            SequentialBlock cl = convertedCopy(net, 5, Formats::channelsLast, false);
            NDArray got = cl.forward(new ParameterStore(m, false), new NDList(channelsLast(x)), false).singletonOrThrow();
            double d = got.sub(want).abs().max().getFloat();
            return Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
        }
    }

    /**
     * The same values in channels-last memory (strides of N, H, W, C order) for a 4-D array;
     * other arrays are returned as they are. The result is a new array in the input's manager.
     */
    public static NDArray channelsLast(NDArray x) {
        long[] s = x.getShape().getShape();
        if (s.length != 4) {
            return x;
        }
        // Permuting to N, H, W, C is a view; flattening it to (N*H*W, C) cannot be a view, so
        // PyTorch copies it into that order; the permutation back is a view of that copy, and
        // clone (DJL's duplicate) keeps the strides of a dense array, so the result owns its
        // memory (a parameter that is a view cannot be updated in place under autograd).
        NDArray nhwc = x.transpose(0, 2, 3, 1);
        NDArray flat = nhwc.reshape(s[0] * s[2] * s[3], s[1]);
        NDArray back = flat.reshape(s[0], s[2], s[3], s[1]).transpose(0, 3, 1, 2);
        NDArray out = back.duplicate();
        nhwc.close();
        flat.close();
        back.close();
        return out;
    }

    /**
     * A float16 copy of a float32 array (other arrays are returned as they are). There is no
     * bfloat16 counterpart: DJL 0.36's native PyTorch library maps only the data types float32,
     * float64, float16, uint8, int32, int8, int64, bool and complex64, and converting to
     * {@code DataType.BFLOAT16} aborts the process (an uncaught C++ rethrow).
     */
    public static NDArray float16(NDArray p) {
        return p.getDataType() == DataType.FLOAT32 ? p.toType(DataType.FLOAT16, true) : p;
    }

    /**
     * A fresh {@code ResNet18.classifier(numClasses)} whose parameters are {@code convert} of the
     * corresponding parameters of {@code source} (same architecture; matched by position). The
     * new arrays live in the source arrays' managers. With {@code trainable}, parameters that
     * require gradients in the source do in the copy.
     */
    public static SequentialBlock convertedCopy(SequentialBlock source, int numClasses, UnaryOperator<NDArray> convert,
            boolean trainable) {
        SequentialBlock copy = ResNet18.classifier(numClasses);
        List<Parameter> from = source.getParameters().values();
        List<Parameter> to = copy.getParameters().values();
        if (from.size() != to.size()) {
            throw new IllegalArgumentException("not a ResNet-18 with " + numClasses + " classes: " + from.size()
                    + " parameters, expected " + to.size());
        }
        for (int i = 0; i < from.size(); i++) {
            Parameter src = from.get(i);
            Parameter dst = to.get(i);
            NDArray a = convert.apply(src.getArray());
            if (a == src.getArray()) {
                a = a.duplicate();
            }
            dst.setArray(a);
            if (trainable && src.requiresGradient()) {
                a.setRequiresGradient(true);
            }
        }
        return copy;
    }
}
