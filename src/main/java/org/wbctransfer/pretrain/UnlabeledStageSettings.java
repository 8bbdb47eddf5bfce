package org.wbctransfer.pretrain;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.wbctransfer.data.SplitManifest;
import org.wbctransfer.util.UserException;

/**
 * What the self-supervised stages on a folder of unlabeled images (SimSiam, the autoencoder)
 * are configured with, checked once, loaded once and recorded in the bundle the same way.
 *
 * @param root a folder of images, searched recursively; labels and layout are ignored
 * @param maxImages use at most this many images (a seeded selection); 0 for all
 * @param guard what keeps the classification data's test images out of {@code root}
 */
record UnlabeledStageSettings(String name, Path root, int epochs, int batch, double lr, int maxImages,
        ClassificationGuard guard) {

    /** Both methods train BatchNorm layers, which need two images per batch. */
    static UnlabeledStageSettings of(String method, String name, Path root, int epochs, int batch, double lr,
            int maxImages, ClassificationGuard guard) {
        if (batch < 2 || epochs < 1) {
            throw new UserException(method + " needs a batch of at least 2 (BatchNorm) and at least one epoch; got batch "
                    + batch + ", epochs " + epochs);
        }
        return new UnlabeledStageSettings(name, root, epochs, batch, lr, maxImages, guard);
    }

    UnlabeledImages load(PretrainContext ctx) throws IOException {
        return UnlabeledImages.load(root, ctx.imageSize(), ctx.cacheDir(), maxImages, ctx.seed(), ctx.strict(), guard);
    }

    /** Refuses a folder that holds classification images without a manifest, before any stage of a chain trains. */
    void checkInput() throws IOException {
        if (Files.isDirectory(root)) {
            guard.apply(root);
        }
    }

    /** The settings every such stage records; a stage adds its own after these. */
    Map<String, Object> recorded(double weightDecay) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("epochs", epochs);
        s.put("batch", batch);
        s.put("lr", lr);
        s.put("weightDecay", weightDecay);
        s.put("maxImages", maxImages);
        // Where the guard looked, and with which split (its hash, as training runs record it):
        // a backbone pre-trained without one split's test rows is clean for that split only.
        s.put("classificationData", guard.data() + (Files.isDirectory(guard.data()) ? "" : " (not found, not checked)"));
        if (guard.manifest() != null) {
            s.put("manifest", guard.manifest().toString());
            s.put("manifestSha256", SplitManifest.read(guard.manifest()).sha256());
        }
        return s;
    }

    /**
     * The metrics every such stage records, what the guard found and dropped among them; a stage
     * adds its own after these.
     */
    static Map<String, Object> metrics(double finalLoss, UnlabeledImages data) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("finalLoss", finalLoss);
        m.put("skippedFiles", data.skipped().size());
        m.put("classificationImages", data.classificationImages());
        m.put("testImagesDropped", data.testImagesDropped());
        return m;
    }
}
