package org.wbctransfer.pretrain;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.wbctransfer.util.UserException;

/**
 * What the self-supervised stages on a folder of unlabeled images (SimSiam, the autoencoder)
 * are configured with, checked once, loaded once and recorded in the bundle the same way.
 *
 * @param root a folder of images, searched recursively; labels and layout are ignored
 * @param maxImages use at most this many images (a seeded selection); 0 for all
 */
record UnlabeledStageSettings(String name, Path root, int epochs, int batch, double lr, int maxImages) {

    /** Both methods train BatchNorm layers, which need two images per batch. */
    static UnlabeledStageSettings of(String method, String name, Path root, int epochs, int batch, double lr,
            int maxImages) {
        if (batch < 2 || epochs < 1) {
            throw new UserException(method + " needs a batch of at least 2 (BatchNorm) and at least one epoch; got batch "
                    + batch + ", epochs " + epochs);
        }
        return new UnlabeledStageSettings(name, root, epochs, batch, lr, maxImages);
    }

    UnlabeledImages load(PretrainContext ctx) throws IOException {
        return UnlabeledImages.load(root, ctx.imageSize(), ctx.cacheDir(), maxImages, ctx.seed(), ctx.strict());
    }

    /** The settings every such stage records; a stage adds its own after these. */
    Map<String, Object> recorded(double weightDecay) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("epochs", epochs);
        s.put("batch", batch);
        s.put("lr", lr);
        s.put("weightDecay", weightDecay);
        s.put("maxImages", maxImages);
        return s;
    }
}
