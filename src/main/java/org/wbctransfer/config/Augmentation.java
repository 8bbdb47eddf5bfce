package org.wbctransfer.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * Augmentation settings. Blood-cell images have no canonical orientation, so flips and rotations
 * are label-preserving; colour jitter imitates staining and illumination differences between
 * microscopes. The robustness levers (zoom, stain, grey, blur, JPEG) default to off, so configs
 * written before they existed read back as the same recipe.
 *
 * @param flip random horizontal and vertical flips
 * @param rotation NONE, RIGHT_ANGLE (multiples of 90 degrees) or FREE (any angle)
 * @param scale maximum relative zoom in or out (0.1 = 0.9x to 1.1x)
 * @param translate maximum shift as a fraction of the image side
 * @param brightness maximum relative brightness change
 * @param contrast maximum relative contrast change
 * @param saturation maximum relative saturation change
 * @param hue maximum hue rotation as a fraction of a full turn (0.5 = any hue)
 * @param zoomMin smallest zoom factor, drawn log-uniformly up to {@code zoomMax}; below 1 the cell
 *     shrinks and the frame is filled with the image's mean border colour (other microscopes show
 *     cells at other scales); 0 = off
 * @param zoomMax largest zoom factor (above 1 the cell grows and its surroundings leave the frame)
 * @param stain HED stain jitter (Tellez et al. 2018): each haematoxylin, eosin and DAB density is
 *     scaled by U(1-s, 1+s) and shifted by U(-s, s) after colour deconvolution; 0 = off
 * @param grey probability of turning the image into its luminance
 * @param blur largest Gaussian blur sigma in pixels at the working size, applied to half the images
 * @param jpeg probability of re-encoding the image as JPEG at a quality drawn from 30 to 95
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Augmentation(boolean flip, Rotation rotation, double scale, double translate,
        double brightness, double contrast, double saturation, double hue,
        double zoomMin, double zoomMax, double stain, double grey, double blur, double jpeg) {

    public enum Rotation { NONE, RIGHT_ANGLE, FREE }

    @JsonCreator
    public Augmentation {
        require(zoomMin == 0 && zoomMax == 0 || zoomMin > 0 && zoomMin <= zoomMax && zoomMax <= 4,
                "zoom range must be 0,0 (off) or 0 < min <= max <= 4, got " + zoomMin + "," + zoomMax);
        require(stain >= 0 && stain <= 1, "stain jitter must be in [0, 1], got " + stain);
        require(grey >= 0 && grey <= 1, "grey probability must be in [0, 1], got " + grey);
        require(blur >= 0 && blur <= 5, "blur sigma must be in [0, 5] pixels, got " + blur);
        require(jpeg >= 0 && jpeg <= 1, "JPEG probability must be in [0, 1], got " + jpeg);
    }

    /** Without the robustness levers. */
    public Augmentation(boolean flip, Rotation rotation, double scale, double translate,
            double brightness, double contrast, double saturation, double hue) {
        this(flip, rotation, scale, translate, brightness, contrast, saturation, hue, 0, 0, 0, 0, 0, 0);
    }

    /** Flips, 90-degree rotations and light colour jitter: the calibrated baseline recipe. */
    public static Augmentation standard() {
        return new Augmentation(true, Rotation.RIGHT_ANGLE, 0.0, 0.0, 0.1, 0.1, 0.1, 0.02);
    }

    public static Augmentation none() {
        return new Augmentation(false, Rotation.NONE, 0, 0, 0, 0, 0, 0);
    }

    public boolean isColour() {
        return brightness > 0 || contrast > 0 || saturation > 0 || hue > 0;
    }

    public boolean zooms() {
        return zoomMax > 0;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new org.wbctransfer.util.UserException(message);
        }
    }
}
