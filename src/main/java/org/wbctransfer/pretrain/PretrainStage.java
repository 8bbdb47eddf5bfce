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
}
