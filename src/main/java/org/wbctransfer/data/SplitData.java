package org.wbctransfer.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.wbctransfer.util.UserException;

/**
 * A split manifest over a dataset root, with every image of the manifest decoded into the cache,
 * so that training, validation and test views share one decode.
 */
public record SplitData(Path root, SplitManifest manifest, ImageCache cache) {

    /**
     * Draws the study's split over the images of a class-per-folder dataset that decode, so that
     * no unreadable file takes a place in the test set or a subset. Every image is decoded once
     * into the cache at {@code imageSize} (training at that size then finds them there). Files
     * that cannot be used are passed to {@code warn} ("file: problem") and recorded in the
     * manifest's header; when {@code strict}, the first one is a {@link UserException} instead.
     * Grouped by {@code groupBy} ({@link SplitManifest#createGrouped}) unless it is null.
     */
    public static SplitManifest draw(Path root, long seed, java.util.regex.Pattern groupBy, int imageSize, Path cacheDir,
            boolean strict, java.util.function.Consumer<String> warn) throws IOException {
        ImageFolder folder = ImageFolder.scan(root, strict);
        List<String> paths = new ArrayList<>();
        folder.items().forEach(it -> paths.add(it.relativePath()));
        // The order of the manifest's entries, so that training over it hits the same cache file.
        paths.sort(java.util.Comparator.naturalOrder());
        ImageCache cache = ImageCache.open(root, paths, imageSize, cacheDir);
        java.util.Map<String, String> unreadable = new java.util.LinkedHashMap<>();
        for (int i = 0; i < paths.size(); i++) {
            if (cache.pixels(i) == null) {
                if (strict) {
                    throw new UserException(root.resolve(paths.get(i)) + ": " + cache.problem(i));
                }
                unreadable.put(paths.get(i), cache.problem(i));
            }
        }
        folder.warnings().forEach(warn);
        unreadable.forEach((p, problem) -> warn.accept(root.resolve(p) + ": " + problem + "; skipped"));
        ImageFolder usable = folder.without(unreadable);
        usable.warnings().subList(folder.warnings().size(), usable.warnings().size()).forEach(warn);
        return SplitManifest.create(usable, seed, groupBy);
    }

    /** The manifest's images, decoded; the cache is shared with earlier opens in this process (see {@link ImageCache#openShared}). */
    public static SplitData open(Path root, SplitManifest manifest, int imageSize, Path cacheDir) throws IOException {
        return open(root, manifest, imageSize, null, cacheDir);
    }

    /** As {@link #open(Path, SplitManifest, int, Path)}, each image framed by {@code framing} (null: the centre square). */
    public static SplitData open(Path root, SplitManifest manifest, int imageSize, Framing framing, Path cacheDir)
            throws IOException {
        List<String> paths = new ArrayList<>();
        for (SplitManifest.Entry e : manifest.entries()) {
            paths.add(e.relativePath());
        }
        ImageFolder.checkRoot(root);
        return new SplitData(root, manifest, ImageCache.openShared(root, paths, imageSize, framing, cacheDir));
    }

    /**
     * The manifest's training images only, decoded: no test image is opened, not even to key the
     * cache (a search ranks candidates without reading the test split). Its cache is another file
     * than {@link #open}'s; {@link #samples} of a test entry fails.
     */
    public static SplitData openTraining(Path root, SplitManifest manifest, int imageSize, Framing framing, Path cacheDir)
            throws IOException {
        List<String> paths = new ArrayList<>();
        for (SplitManifest.Entry e : manifest.entries()) {
            if (!e.test()) {
                paths.add(e.relativePath());
            }
        }
        ImageFolder.checkRoot(root);
        return new SplitData(root, manifest, ImageCache.openShared(root, paths, imageSize, framing, cacheDir));
    }

    /**
     * Labelled samples for these entries; images that could not be decoded are left out and
     * described in {@code skipped} ("file: problem").
     */
    public List<BatchLoader.Sample> samples(List<SplitManifest.Entry> entries, List<String> skipped) {
        List<BatchLoader.Sample> out = new ArrayList<>();
        for (SplitManifest.Entry e : entries) {
            int i = cache.indexOf(e.relativePath());
            if (cache.pixels(i) == null) {
                skipped.add(root.resolve(e.relativePath()) + ": " + cache.problem(i));
                continue;
            }
            out.add(new BatchLoader.Sample(i, manifest.labelOf(e)));
        }
        return out;
    }

    public List<byte[]> pixels(List<BatchLoader.Sample> samples) {
        return cache.pixels(samples);
    }
}
