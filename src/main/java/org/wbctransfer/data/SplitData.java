package org.wbctransfer.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A split manifest over a dataset root, with every image of the manifest decoded into the cache,
 * so that training, validation and test views share one decode.
 */
public final class SplitData {

    private final Path root;
    private final SplitManifest manifest;
    private final ImageCache cache;

    private SplitData(Path root, SplitManifest manifest, ImageCache cache) {
        this.root = root;
        this.manifest = manifest;
        this.cache = cache;
    }

    public static SplitData open(Path root, SplitManifest manifest, int imageSize, Path cacheDir) throws IOException {
        List<String> paths = new ArrayList<>();
        for (SplitManifest.Entry e : manifest.entries()) {
            paths.add(e.relativePath());
        }
        ImageFolder.checkRoot(root);
        return new SplitData(root, manifest, ImageCache.open(root, paths, imageSize, cacheDir));
    }

    public Path root() {
        return root;
    }

    public SplitManifest manifest() {
        return manifest;
    }

    public ImageCache cache() {
        return cache;
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
        List<byte[]> out = new ArrayList<>(samples.size());
        for (BatchLoader.Sample s : samples) {
            out.add(cache.pixels(s.cacheIndex()));
        }
        return out;
    }
}
