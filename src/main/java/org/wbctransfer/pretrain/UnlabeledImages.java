package org.wbctransfer.pretrain;

import org.wbctransfer.util.Warnings;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.Framing;
import org.wbctransfer.data.ImageCache;
import org.wbctransfer.data.ImageFolder;
import org.wbctransfer.util.UserException;

/**
 * Every image under a folder, at any depth, without labels: the input of the self-supervised
 * stages. Unlabeled histopathology collections (pRCC regions, PCam patches with their labels
 * ignored) come in arbitrary layouts, so no class folders are assumed; all samples get label 0.
 *
 * @param root the folder that was walked
 * @param cache decoded images, indexed by the sorted relative paths
 * @param samples the decodable images (undecodable ones are left out with a warning)
 * @param skipped the files left out, as "file: problem"
 * @param classificationImages how many of the folder's images belong to the classification data
 *     (see {@link ClassificationGuard})
 * @param testImagesDropped how many of those were test rows of its split manifest, left out
 */
public record UnlabeledImages(Path root, ImageCache cache, List<BatchLoader.Sample> samples, List<String> skipped,
        int classificationImages, int testImagesDropped) {


    /**
     * Walks {@code root} for image files, checks them with {@code guard} for images of the
     * classification data (refused, or its manifest's test rows dropped) before the subset is
     * drawn, so that {@code maxImages} counts usable images, and decodes them into the cache.
     *
     * @param maxImages at most this many images (a seeded random subset, drawn before decoding so
     *     a small subset of a large folder stays cheap; undecodable files are not replaced); 0 for all
     * @param strict an unreadable folder or image file is a {@link UserException} naming it instead of a warning
     */
    public static UnlabeledImages load(Path root, int size, Path cacheDir, int maxImages, long seed, boolean strict,
            ClassificationGuard guard) throws IOException {
        return load(root, size, null, cacheDir, maxImages, seed, strict, guard);
    }

    /**
     * Every image under {@code root}, each framed as a model frames its input ({@code framing};
     * null: the centre square): a new lab's unlabelled cells for {@code wbc adapt}. No subset is
     * drawn and no image is checked against the classification data (nothing is pre-trained on them).
     */
    public static UnlabeledImages load(Path root, int size, Framing framing, Path cacheDir, boolean strict)
            throws IOException {
        return load(root, size, framing, cacheDir, 0, 0, strict, null);
    }

    /** @param guard null: no check against the classification data */
    private static UnlabeledImages load(Path root, int size, Framing framing, Path cacheDir, int maxImages, long seed,
            boolean strict, ClassificationGuard guard) throws IOException {
        ImageFolder.checkRoot(root);
        List<String> skipped = new ArrayList<>();
        List<String> paths = scan(root, (f, why) -> {
            if (strict) {
                throw new UserException(f + ": cannot read (" + why + ")");
            }
            Warnings.warn(f + ": cannot read (" + why + "); skipped");
            skipped.add(f + ": cannot read (" + why + ")");
        }, (f, why) -> Warnings.warn(f + ": " + why));
        if (paths.isEmpty()) {
            throw new UserException(root + ": no image files found (looked for "
                    + String.join(", ", new java.util.TreeSet<>(ImageFolder.IMAGE_EXTENSIONS)) + ")");
        }
        ClassificationGuard.Result guarded = guard == null ? new ClassificationGuard.Result(paths, 0, 0)
                : guard.apply(root, paths);
        paths = guarded.kept();
        if (paths.isEmpty()) {
            throw new UserException(root + ": all " + guarded.found() + " images are test rows of " + guard.manifest()
                    + "; nothing left to pre-train on");
        }
        if (maxImages > 0 && paths.size() > maxImages) {
            List<String> all = new ArrayList<>(paths);
            Collections.shuffle(all, new Random(seed));
            paths = new ArrayList<>(all.subList(0, maxImages));
            // Sorted again so the cache key and the data hash depend on the set, not the draw order.
            Collections.sort(paths);
        }
        ImageCache cache = ImageCache.open(root, paths, size, framing, cacheDir);
        List<BatchLoader.Sample> samples = new ArrayList<>();
        for (int i = 0; i < paths.size(); i++) {
            if (cache.pixels(i) != null) {
                samples.add(new BatchLoader.Sample(i, 0));
            } else if (strict) {
                throw new UserException(root.resolve(paths.get(i)) + ": " + cache.problem(i));
            } else {
                Warnings.warn(root.resolve(paths.get(i)) + ": " + cache.problem(i) + "; skipped");
                skipped.add(root.resolve(paths.get(i)) + ": " + cache.problem(i));
            }
        }
        if (samples.isEmpty()) {
            throw new UserException(root + ": none of the " + paths.size() + " image files could be decoded");
        }
        return new UnlabeledImages(root, cache, List.copyOf(samples), List.copyOf(skipped), guarded.found(),
                guarded.dropped());
    }

    /** Image files under root, '/'-separated relative paths, sorted; hidden files and folders skipped. */
    static List<String> scan(Path root) throws IOException {
        return scan(root, (f, why) -> Warnings.warn(f + ": " + why + "; skipped"));
    }

    static List<String> scan(Path root, java.util.function.BiConsumer<Path, String> onUnreadable) throws IOException {
        return scan(root, onUnreadable, (file, why) -> { });
    }

    /** As {@link #scan(Path, java.util.function.BiConsumer)}, files of an image type ImageIO cannot read passed to {@code onUnsupported}. */
    static List<String> scan(Path root, java.util.function.BiConsumer<Path, String> onUnreadable,
            java.util.function.BiConsumer<Path, String> onUnsupported) throws IOException {
        List<String> out = new ArrayList<>();
        // One unreadable subfolder should not stop pre-training on everything else.
        for (Path file : ImageFolder.findImages(root, onUnreadable, onUnsupported)) {
            out.add(relative(root, file));
        }
        Collections.sort(out);
        return out;
    }

    /** {@code file} relative to {@code root}, '/'-separated on every platform. */
    static String relative(Path root, Path file) {
        StringBuilder rel = new StringBuilder();
        for (Path part : root.relativize(file)) {
            rel.append(rel.isEmpty() ? "" : "/").append(part);
        }
        return rel.toString();
    }

    /** RGB bytes of every usable image, in sample order. */
    public List<byte[]> pixels() {
        return cache.pixels(samples);
    }

    /** Hash of the image list (relative paths) actually used: ties a bundle to its data. */
    public String sha256() {
        return cache.sha256(samples);
    }

    /** The same images restricted to the given samples (for a held-out split). */
    UnlabeledImages subset(List<BatchLoader.Sample> keep) {
        return new UnlabeledImages(root, cache, List.copyOf(keep), skipped, classificationImages, testImagesDropped);
    }
}
