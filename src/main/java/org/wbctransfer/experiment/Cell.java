package org.wbctransfer.experiment;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One planned training run of the experiment grid: an arm (e.g. {@code baseline},
 * {@code enhanced-camelyon}) trained on one label budget of one split (split seed) with one
 * training seed, and the run directory it writes to. A cell is planned before it finishes, so its
 * directory may not hold results yet.
 */
public record Cell(String arm, String subset, long splitSeed, long seed, Path runDir) {

    public Cell {
        Objects.requireNonNull(arm, "arm");
        Objects.requireNonNull(subset, "subset");
        Objects.requireNonNull(runDir, "runDir");
        // Names become table labels and file names; a blank one would produce unreadable output.
        if (arm.isBlank()) {
            throw new IllegalArgumentException("arm must not be blank");
        }
        if (subset.isBlank()) {
            throw new IllegalArgumentException("subset must not be blank");
        }
    }

    /** Short human label, also used in plot legends and file names. */
    public String label() {
        return arm + " / " + subset + " / split " + splitSeed + " / seed " + seed;
    }
}
