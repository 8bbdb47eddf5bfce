package org.wbctransfer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * A {@link Conv2d} with few output channels (an image's 3 colours) whose gradients are right on
 * every CPU. libtorch 2.7.1's oneDNN pads such a convolution's output channels to its register
 * block (16 floats with AVX-512, 8 with AVX2; its verbose log shows the padded layouts), and on an
 * AMD EPYC with AVX-512 BF16 (measured 2026-12-02) the backward pass of a 3-, 4- or 5-filter 3x3
 * convolution gave an input gradient 30-90 % off a float64 reference, or NaN, on some draws and
 * right on others, under every ISA limit tried; the forward pass was right. Padding the weights
 * with zero filters to a multiple of {@link #BLOCK} before the call leaves oneDNN nothing to pad,
 * and made every draw right; the extra outputs are dropped. The parameters, their names and the
 * saved format are Conv2d's own, so bundles are unchanged.
 */
public final class NarrowConv2d extends Conv2d {

    /** The widest register block of oneDNN's x86 kernels (16 floats of AVX-512). */
    public static final int BLOCK = 16;

    public NarrowConv2d(Conv2d.Builder builder) {
        super(builder);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray w = ps.getValue(weight, x.getDevice(), training);
        NDArray b = includeBias ? ps.getValue(bias, x.getDevice(), training) : null;
        int extra = (BLOCK - filters % BLOCK) % BLOCK;
        if (extra == 0) {
            return Conv2d.conv2d(x, w, b, stride, padding, dilation, groups);
        }
        NDArray y = Conv2d.conv2d(x, padFilters(w, extra), b == null ? null : padFilters(b, extra), stride, padding,
                dilation, groups).singletonOrThrow();
        return new NDList(y.get(new NDIndex(":, 0:{}", filters)));
    }

    /** {@code a} with {@code extra} zero rows appended along its first (filter) axis. */
    private static NDArray padFilters(NDArray a, int extra) {
        long[] s = a.getShape().getShape().clone();
        s[0] = extra;
        return NDArrays.concat(new NDList(a, a.getManager().zeros(new Shape(s), a.getDataType(), a.getDevice())), 0);
    }
}
