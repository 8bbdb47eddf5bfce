package org.wbctransfer.data;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * What the model sees of an image: which part of it, before it is resized to the input size
 * ({@link #frame}), and what is done to the resized pixels ({@link #finish}). Without one the
 * decoder takes the centre square as it is; a cell-centred crop ({@code model.CellCrop}) frames
 * the cell it finds, so that every microscope shows the cell at one scale, and
 * {@link ColourStandard} gives every image the same colour statistics. Lives here, below the model
 * package, so that the image cache can apply a framing it cannot build.
 */
public interface Framing {

    /** The image to centre-crop and resize in place of {@code image}; thread-safe. */
    BufferedImage frame(BufferedImage image);

    /**
     * {@link #frame} of each image, in order; a framing that runs a network overrides it to run
     * the network once over all of them (the same pixels as one at a time, a batch's cost).
     */
    default List<BufferedImage> frameAll(List<BufferedImage> images) {
        List<BufferedImage> framed = new ArrayList<>(images.size());
        for (BufferedImage image : images) {
            framed.add(frame(image));
        }
        return framed;
    }

    /** The resized image's interleaved RGB bytes as the network should see them; thread-safe. */
    default byte[] finish(byte[] rgb) {
        return rgb;
    }

    /**
     * Names this framing in cache keys: two framings with one key frame every image alike
     * (e.g. the segmentation weights' checksum and the margin).
     */
    String key();

    /** What the framing did so far (e.g. how many images fell back to the centre square), for the log. */
    String summary();

    /** {@code first}'s framing, then {@code then}'s; either may be null (null when both are). */
    static Framing chain(Framing first, Framing then) {
        if (first == null || then == null) {
            return first == null ? then : first;
        }
        return new Framing() {
            @Override
            public BufferedImage frame(BufferedImage image) {
                return then.frame(first.frame(image));
            }

            @Override
            public List<BufferedImage> frameAll(List<BufferedImage> images) {
                return then.frameAll(first.frameAll(images));
            }

            @Override
            public byte[] finish(byte[] rgb) {
                return then.finish(first.finish(rgb));
            }

            @Override
            public String key() {
                return first.key() + "+" + then.key();
            }

            @Override
            public String summary() {
                return first.summary() + "; " + then.summary();
            }
        };
    }
}
