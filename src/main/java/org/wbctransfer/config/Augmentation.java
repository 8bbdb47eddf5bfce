package org.wbctransfer.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * Augmentation settings. Blood-cell images have no canonical orientation, so flips and rotations
 * are label-preserving; colour jitter imitates staining and illumination differences between
 * microscopes.
 *
 * @param flip random horizontal and vertical flips
 * @param rotation NONE, RIGHT_ANGLE (multiples of 90 degrees) or FREE (any angle)
 * @param scale maximum relative zoom in or out (0.1 = 0.9x to 1.1x)
 * @param translate maximum shift as a fraction of the image side
 * @param brightness maximum relative brightness change
 * @param contrast maximum relative contrast change
 * @param saturation maximum relative saturation change
 * @param hue maximum hue rotation as a fraction of a full turn (0.5 = any hue)
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Augmentation(boolean flip, Rotation rotation, double scale, double translate,
        double brightness, double contrast, double saturation, double hue) {

    public enum Rotation { NONE, RIGHT_ANGLE, FREE }

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
}
