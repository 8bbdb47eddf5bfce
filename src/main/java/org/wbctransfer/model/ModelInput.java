package org.wbctransfer.model;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import org.wbctransfer.config.Augmentation;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.Framing;
import org.wbctransfer.data.ImageDecoder;

/**
 * Turns an image file into the network input exactly as evaluation during training did: centre
 * square crop (or the cell-centred crop the model was trained with), resize to the model's input
 * size ({@link ImageDecoder}), then the normalization recorded with the model
 * ({@link Augmenter#plain}). Any other path to the pixels would shift the predictions of a model
 * that was only ever shown these. Made by {@link Classifier#input}.
 */
public final class ModelInput {

    private final int size;
    private final Augmenter plain;
    private final Framing framing;

    ModelInput(ModelMetadata md, Framing framing) {
        this.framing = framing;
        if (md.inputNormalization() == null || (md.inputShape() == null && (md.preprocessing() == null || !md.preprocessing().complete()))) {
            throw new org.wbctransfer.util.UserException("model metadata lacks its input shape or normalization");
        }
        this.size = md.imageSize();
        this.plain = new Augmenter(Augmentation.none(), md.inputNormalization(), size);
    }

    public int size() {
        return size;
    }

    /** Floats per image (3 x size x size). */
    public int floats() {
        return 3 * size * size;
    }

    public byte[] decode(Path file) throws ImageDecoder.BadImageException {
        return ImageDecoder.decodeRgb(file, size, framing);
    }

    /** The image as {@link #decode} reads it (subsampled when far larger than the model's input), not yet resized. */
    public BufferedImage read(Path file) throws ImageDecoder.BadImageException {
        return ImageDecoder.read(file, size);
    }

    public void normalize(byte[] rgb, float[] out, int offset) {
        plain.plain(rgb, out, offset);
    }

    /** An image already decoded (an upload, or a file also drawn on), as {@link #load} would read it. */
    public void normalize(BufferedImage image, float[] out) {
        normalize(image, out, 0);
    }

    public void normalize(BufferedImage image, float[] out, int offset) {
        normalizeFramed(frame(image), out, offset);
    }

    /**
     * The part of the image the network sees, before resizing: the cell-centred crop of a model
     * trained on them, else the image itself (the centre square is taken by resizing). Overlays
     * are drawn on this, so that a heat map lies over the pixels it was computed on.
     */
    public BufferedImage frame(BufferedImage image) {
        return framing == null ? image : framing.frame(image);
    }

    /** {@link #frame} of each image, a framing network run once over them all. */
    public List<BufferedImage> frameAll(List<BufferedImage> images) {
        return framing == null ? images : framing.frameAll(images);
    }

    /** An image {@link #frame} returned, as the network's input. */
    public void normalizeFramed(BufferedImage framed, float[] out, int offset) {
        normalize(ImageDecoder.framedRgb(framed, size, framing), out, offset);
    }

    /** One image as CHW floats. */
    public float[] load(Path file) throws ImageDecoder.BadImageException {
        float[] out = new float[floats()];
        normalize(decode(file), out, 0);
        return out;
    }
}
