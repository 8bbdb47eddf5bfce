package org.wbctransfer.data;

import java.awt.image.BufferedImage;

/**
 * Which part of an image the model sees, before it is resized to the input size. Without one
 * the decoder takes the centre square; a cell-centred crop ({@code model.CellCrop}) frames the
 * cell it finds, so that every microscope shows the cell at one scale. Lives here, below the
 * model package, so that the image cache can apply a framing it cannot build.
 */
public interface Framing {

    /** The image to centre-crop and resize in place of {@code image}; thread-safe. */
    BufferedImage frame(BufferedImage image);

    /**
     * Names this framing in cache keys: two framings with one key frame every image alike
     * (e.g. the segmentation weights' checksum and the margin).
     */
    String key();

    /** What the framing did so far (e.g. how many images fell back to the centre square), for the log. */
    String summary();
}
