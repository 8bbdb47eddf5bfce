package org.wbctransfer.data;

/** A batch of normalized images (NCHW floats) with their labels and dataset positions. */
public record Batch(float[] images, int[] labels, int[] samples, int size, int imageSize) {}
