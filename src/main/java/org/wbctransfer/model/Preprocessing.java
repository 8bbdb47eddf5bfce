package org.wbctransfer.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.wbctransfer.data.ColourStandard;
import org.wbctransfer.data.Normalization;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;

/**
 * {@code preprocessing} of a model's metadata.json: how to turn an image into the network's
 * input, for readers outside this tool and for ours ({@link ModelInput} reads size, mean and std
 * from here). Bundles exported before it existed hold a sentence instead; that reads as a
 * block with only {@code description}, and the readers fall back to {@code inputShape} and
 * {@code normalization}.
 *
 * @param size side of the square input in pixels
 * @param mean per-channel mean subtracted after scaling to {@code valueRange}, in {@code channelOrder}
 * @param std per-channel standard deviation divided by
 * @param valueRange the pixel range before normalization: 8-bit values divided by 255
 * @param cellCrop where the image is first framed on the cell ({@link CellCrop}); null: the centre square
 * @param colourStandard the colour standardisation of the resized image ({@link ColourStandard}); null: none
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Preprocessing(
        String colour,
        String crop,
        String resize,
        Integer size,
        List<Double> valueRange,
        List<Double> mean,
        List<Double> std,
        String channelOrder,
        String layout,
        String dtype,
        String description,
        CellCropSpec cellCrop,
        ColourStandardSpec colourStandard) {

    /**
     * A cell-centred crop.
     *
     * @param segmenter the bundle's folder holding the segmentation network
     * @param sha256 of its weights
     * @param size the side the network reads the image's centre square at
     * @param margin space kept on each side of the cell, as a fraction of its longer side
     */
    public record CellCropSpec(String segmenter, String sha256, int size, double margin) {}

    /**
     * Per-image colour standardisation after the resize: convert to CIELAB (sRGB, D65), move each
     * channel's mean and standard deviation over the image to {@code mean} and {@code std} (a
     * channel whose deviation is under 1 is only shifted), convert back and round to 8 bits.
     */
    public record ColourStandardSpec(String space, List<Double> mean, List<Double> std) {
        static ColourStandardSpec of(double[] mean, double[] std) {
            return new ColourStandardSpec("CIELAB, sRGB D65", boxed(mean), boxed(std));
        }

        /** Whether these are the reference values given. */
        public boolean matches(double[] m, double[] s) {
            return boxed(m).equals(mean) && boxed(s).equals(std);
        }
    }

    static final String DESCRIPTION = "Decode to RGB (transparent pixels white); centre-crop to a square; resize to"
            + " size x size by repeated halving with bilinear filtering; scale to [0, 1]; subtract mean and divide by"
            + " std per channel; NCHW float32. Outputs are logits in the order of 'classes'; softmax (after dividing"
            + " by 'temperature' when present) gives probabilities.";

    /** The block this tool's decoder and {@link ModelInput} implement, with a model's numbers. */
    public static Preprocessing of(int size, Normalization n) {
        return new Preprocessing("RGB, 8 bits per channel; transparent pixels white", "centre square",
                "repeated halving, bilinear", size, List.of(0.0, 1.0), boxed(n.mean()), boxed(n.std()), "RGB", "NCHW",
                "float32", DESCRIPTION, null, null);
    }

    static final String CELL_CROP_DESCRIPTION = "Decode to RGB (transparent pixels white); take the centre square,"
            + " resize it to cellCrop.size and segment it with the network in cellCrop.segmenter (background,"
            + " cytoplasm, nucleus); cut a square around the cell region holding the most nucleus pixels, with"
            + " cellCrop.margin of its longer side on each side (beyond the image, its mean border colour), or keep"
            + " the centre square when no nucleus is found; then as without the crop: resize to size x size by"
            + " repeated halving with bilinear filtering; scale to [0, 1]; subtract mean and divide by std per channel;"
            + " NCHW float32. Outputs are logits in the order of 'classes'.";

    /** This block for a model that sees cell-centred crops. */
    public Preprocessing withCellCrop(CellCropSpec spec) {
        return new Preprocessing(colour, "cell-centred square (cellCrop)", resize, size, valueRange, mean, std,
                channelOrder, layout, dtype, CELL_CROP_DESCRIPTION, spec, colourStandard);
    }

    /**
     * This block for a model that sees colour-standardised images ({@link ColourStandard}, with
     * its reference values).
     */
    public Preprocessing withColourStandard() {
        return new Preprocessing(colour, crop, resize, size, valueRange, mean, std, channelOrder, layout, dtype,
                description + " Before scaling, the resized image is colour-standardised as 'colourStandard' says.",
                cellCrop, ColourStandardSpec.of(ColourStandard.REFERENCE_MEAN, ColourStandard.REFERENCE_STD));
    }

    private static List<Double> boxed(double[] v) {
        return java.util.Arrays.stream(v).boxed().toList();
    }

    /** An object, or (old bundles) the sentence that stood here. */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    static Preprocessing read(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return new Preprocessing(null, null, null, null, null, null, null, null, null, null, node.asText(), null, null);
        }
        if (!node.isObject()) {
            throw new UserException("preprocessing must be an object, found " + node.getNodeType());
        }
        try {
            return Json.MAPPER.treeToValue(node, Fields.class).record();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UserException("preprocessing: " + UserException.firstLine(e.getMessage()));
        }
    }

    /** Whether size, mean and std are all given (a block of this tool's, not an old sentence). */
    public boolean complete() {
        return size != null && mean != null && std != null && mean.size() == 3 && std.size() == 3;
    }

    public Normalization normalization() {
        return new Normalization(mean.stream().mapToDouble(Double::doubleValue).toArray(),
                std.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** The object form, read field by field (a record with the creator above cannot bind itself). */
    record Fields(String colour, String crop, String resize, Integer size, List<Double> valueRange,
            List<Double> mean, List<Double> std, String channelOrder, String layout, String dtype, String description,
            CellCropSpec cellCrop, ColourStandardSpec colourStandard) {
        Preprocessing record() {
            return new Preprocessing(colour, crop, resize, size, valueRange, mean, std, channelOrder, layout, dtype,
                    description, cellCrop, colourStandard);
        }
    }
}
