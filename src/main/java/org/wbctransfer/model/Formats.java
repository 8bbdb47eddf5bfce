package org.wbctransfer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import java.util.List;
import java.util.function.UnaryOperator;

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

    private Formats() {}

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
