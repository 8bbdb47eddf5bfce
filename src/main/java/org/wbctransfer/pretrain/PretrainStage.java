package org.wbctransfer.pretrain;

import java.io.IOException;
import org.wbctransfer.model.BackboneBundle;

/**
 * One pre-training task. It attaches its own head or decoder to the backbone, trains both, and
 * leaves the trained backbone weights in place; the head is discarded.
 */
public interface PretrainStage {

    /** Trains {@code ctx.backbone()} and returns the record of what was done. */
    BackboneBundle.Stage run(PretrainContext ctx) throws IOException;

    /**
     * Refuses unusable input before any stage of a chain trains, where that is cheap to tell (a
     * stage late in a chain would otherwise fail after hours of the earlier ones).
     */
    default void checkInput() throws IOException {}
}
