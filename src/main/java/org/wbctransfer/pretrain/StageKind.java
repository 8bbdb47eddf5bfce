package org.wbctransfer.pretrain;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.Locale;
import org.wbctransfer.util.UserException;

/**
 * The kinds of pre-training stage a recipe names by {@code type}, with what the grid's time
 * estimate needs to know of each: the cost of an image relative to a classification step
 * (SimSiam runs two views through the network and a predictor, the decoders of the autoencoder
 * and the mask stage add about half a step), and how many images a stage reads when the recipe
 * does not cap them.
 */
public enum StageKind {
    TISSUE("tissue", false, 1.1, 8000),
    SIMSIAM("simsiam", true, 2.6, 8000),
    AUTOENCODER("autoencoder", true, 1.5, 8000),
    MASKS("masks", false, 1.5, 360);

    private final String id;
    private final boolean unlabeled;
    private final double relativeCost;
    private final int typicalImages;

    StageKind(String id, boolean unlabeled, double relativeCost, int typicalImages) {
        this.id = id;
        this.unlabeled = unlabeled;
        this.relativeCost = relativeCost;
        this.typicalImages = typicalImages;
    }

    /** The name recipes use; also what a chain's key hashes, so it must not change. */
    @JsonValue
    public String id() {
        return id;
    }

    /** Whether the stage takes any folder of images (and so is guarded against the classification data). */
    public boolean unlabeled() {
        return unlabeled;
    }

    public double relativeCost() {
        return relativeCost;
    }

    public int typicalImages() {
        return typicalImages;
    }

    @JsonCreator
    public static StageKind parse(String id) {
        return Arrays.stream(values()).filter(k -> k.id.equals(id.toLowerCase(Locale.ROOT))).findFirst()
                .orElseThrow(() -> new UserException("unknown pre-training stage type '" + id
                        + "' (expected tissue, simsiam, autoencoder or masks)"));
    }

    @Override
    public String toString() {
        return id;
    }
}
