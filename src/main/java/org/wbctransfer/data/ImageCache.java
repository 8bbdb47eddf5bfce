package org.wbctransfer.data;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.ref.SoftReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Hashing;

/**
 * Decoded, resized images kept as RGB bytes, built once per (file list, sizes, mtimes, image size)
 * and stored in one file under a cache directory, so epochs and later runs never decode JPEGs
 * again. The key covers each file's size and modification time: editing or replacing an image
 * rebuilds the cache.
 */
public final class ImageCache {

    private static final Logger LOG = LoggerFactory.getLogger(ImageCache.class);
    private static final int MAGIC = 0x57424343; // "WBCC"
    /** Bump when decoding or resizing changes, so old caches are not reused. */
    private static final int FORMAT_VERSION = 2;
    /** Images framed together when a framing is set: a few of the segmenter's batches, bounding the decoded images held at once. */
    private static final int FRAME_CHUNK = 256;

    private final int size;
    private final List<String> paths;
    private final byte[][] pixels;
    private final String[] problems;
    private final Map<String, Integer> index = new HashMap<>();
    private final boolean fromDisk;

    private ImageCache(int size, List<String> paths, byte[][] pixels, String[] problems, boolean fromDisk) {
        this.size = size;
        this.paths = List.copyOf(paths);
        this.pixels = pixels;
        this.problems = problems;
        this.fromDisk = fromDisk;
        for (int i = 0; i < paths.size(); i++) {
            index.put(paths.get(i), i);
        }
    }

    /**
     * Loads the cache for these images (relative to {@code root}) at size x size, or builds it (in
     * parallel over all cores) and stores it in {@code cacheDir}, never inside the read-only dataset.
     */
    public static ImageCache open(Path root, List<String> relativePaths, int size, Path cacheDir) throws IOException {
        return open(root, relativePaths, size, null, cacheDir);
    }

    /** As {@link #open(Path, List, int, Path)}, each image framed by {@code framing} (null: the centre square). */
    public static ImageCache open(Path root, List<String> relativePaths, int size, Framing framing, Path cacheDir)
            throws IOException {
        return open(root, relativePaths, size, framing, cacheDir, key(root, relativePaths, size, framing));
    }

    /** The cache {@link #openShared} last returned, and its key. */
    private static String sharedKey;
    private static SoftReference<ImageCache> shared = new SoftReference<>(null);

    /**
     * As {@link #open}, but returns the cache this process already holds for the same images
     * (same file list, sizes, modification times and image size) instead of reading a second copy.
     * A grid trains and tests many models on one split in one process: reading the cache afresh
     * for every training and every test evaluation left a dead copy (125 MB at 64 px, 500 MB at
     * 128 px) in the old generation each time, which G1 answered by growing the heap, cell after
     * cell (issue 7). One cache is held, softly: the collector may drop it when memory runs short.
     */
    public static ImageCache openShared(Path root, List<String> relativePaths, int size, Framing framing, Path cacheDir)
            throws IOException {
        String key = key(root, relativePaths, size, framing);
        synchronized (ImageCache.class) {
            ImageCache held = shared.get();
            if (held != null && key.equals(sharedKey)) {
                return held;
            }
        }
        ImageCache c = open(root, relativePaths, size, framing, cacheDir, key);
        synchronized (ImageCache.class) {
            sharedKey = key;
            shared = new SoftReference<>(c);
        }
        return c;
    }

    private static ImageCache open(Path root, List<String> relativePaths, int size, Framing framing, Path cacheDir,
            String key) throws IOException {
        Path file = fileFor(key, size, cacheDir);
        if (Files.isRegularFile(file)) {
            try {
                ImageCache c = load(file, relativePaths, size);
                LOG.info("image cache hit: {} ({} images at {} px)", file, relativePaths.size(), size);
                return c;
            } catch (IOException e) {
                LOG.warn("image cache {} unreadable ({}); rebuilding", file, e.getMessage());
            }
        }
        ImageCache c = build(root, relativePaths, size, framing);
        AtomicFiles.write(file, tmp -> c.store(tmp));
        LOG.info("image cache written: {}", file);
        return c;
    }

    /** The cache file that {@link #open} reads or writes for these images and size. */
    public static Path file(Path root, List<String> relativePaths, int size, Path cacheDir) throws IOException {
        return fileFor(key(root, relativePaths, size, null), size, cacheDir);
    }

    private static Path fileFor(String key, int size, Path cacheDir) {
        return cacheDir.resolve("images-" + size + "px-" + key.substring(0, 16) + ".bin");
    }

    static String key(Path root, List<String> relativePaths, int size, Framing framing) throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append(FORMAT_VERSION).append('|').append(size).append('|');
        // Centre-square caches keep the key they had before framings existed.
        if (framing != null) {
            sb.append(framing.key()).append('|');
        }
        for (String p : relativePaths) {
            Path f = root.resolve(p);
            long len = -1;
            long mtime = -1;
            try {
                BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
                len = a.size();
                mtime = a.lastModifiedTime().toMillis();
            } catch (IOException ignored) {
                // A missing file is keyed as such; decoding reports it.
            }
            sb.append(p).append('|').append(len).append('|').append(mtime).append('\n');
        }
        return Hashing.sha256(sb.toString());
    }

    public static ImageCache build(Path root, List<String> relativePaths, int size) throws IOException {
        return build(root, relativePaths, size, null);
    }

    static ImageCache build(Path root, List<String> relativePaths, int size, Framing framing) throws IOException {
        int n = relativePaths.size();
        byte[][] pixels = new byte[n][];
        String[] problems = new String[n];
        long t0 = System.nanoTime();
        try {
            if (framing == null) {
                // One task per image on the common pool: every core decodes, whatever the images cost.
                IntStream.range(0, n).parallel().forEach(i -> {
                    try {
                        pixels[i] = ImageDecoder.decodeRgb(root.resolve(relativePaths.get(i)), size);
                    } catch (ImageDecoder.BadImageException e) {
                        problems[i] = e.getMessage();
                    }
                });
            } else {
                for (int from = 0; from < n; from += FRAME_CHUNK) {
                    frameChunk(root, relativePaths, size, framing, from, Math.min(n, from + FRAME_CHUNK), pixels, problems);
                }
            }
        } catch (RuntimeException e) {
            throw new IOException("decoding images failed: " + e, e);
        }
        LOG.info("decoded {} images at {} px in {} s", n, size, String.format("%.1f", (System.nanoTime() - t0) / 1e9));
        if (framing != null) {
            LOG.info("framing: {}", framing.summary());
        }
        return new ImageCache(size, relativePaths, pixels, problems, false);
    }

    /**
     * Images from..to-1 read in parallel, then framed together, so that a framing that runs a
     * network (the cell-centred crop) runs it over batches, as {@code wbc predict} does, rather
     * than once per image.
     */
    private static void frameChunk(Path root, List<String> relativePaths, int size, Framing framing, int from, int to,
            byte[][] pixels, String[] problems) {
        java.awt.image.BufferedImage[] read = new java.awt.image.BufferedImage[to - from];
        IntStream.range(from, to).parallel().forEach(i -> {
            try {
                read[i - from] = ImageDecoder.read(root.resolve(relativePaths.get(i)), size);
            } catch (ImageDecoder.BadImageException e) {
                problems[i] = e.getMessage();
            }
        });
        int[] ok = IntStream.range(from, to).filter(i -> read[i - from] != null).toArray();
        List<java.awt.image.BufferedImage> framed = framing.frameAll(
                java.util.Arrays.stream(ok).mapToObj(i -> read[i - from]).toList());
        IntStream.range(0, ok.length).parallel().forEach(k -> pixels[ok[k]] = ImageDecoder.framedRgb(framed.get(k), size, framing));
    }

    private void store(Path file) throws IOException {
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 20))) {
            out.writeInt(MAGIC);
            out.writeInt(FORMAT_VERSION);
            out.writeInt(size);
            out.writeInt(paths.size());
            for (int i = 0; i < paths.size(); i++) {
                out.writeUTF(paths.get(i));
                if (pixels[i] != null) {
                    out.writeBoolean(true);
                    out.write(pixels[i]);
                } else {
                    out.writeBoolean(false);
                    out.writeUTF(problems[i]);
                }
            }
        }
    }

    private static ImageCache load(Path file, List<String> expected, int size) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 20))) {
            if (in.readInt() != MAGIC || in.readInt() != FORMAT_VERSION || in.readInt() != size) {
                throw new IOException("wrong header");
            }
            int n = in.readInt();
            if (n != expected.size()) {
                throw new IOException("holds " + n + " images, expected " + expected.size());
            }
            byte[][] pixels = new byte[n][];
            String[] problems = new String[n];
            for (int i = 0; i < n; i++) {
                String p = in.readUTF();
                if (!p.equals(expected.get(i))) {
                    throw new IOException("image list differs at " + i);
                }
                if (in.readBoolean()) {
                    pixels[i] = new byte[size * size * 3];
                    in.readFully(pixels[i]);
                } else {
                    problems[i] = in.readUTF();
                }
            }
            return new ImageCache(size, expected, pixels, problems, true);
        }
    }

    public int size() {
        return size;
    }

    public int count() {
        return paths.size();
    }

    public boolean fromDisk() {
        return fromDisk;
    }

    public int indexOf(String relativePath) {
        Integer i = index.get(relativePath);
        if (i == null) {
            throw new IllegalArgumentException("not in cache: " + relativePath);
        }
        return i;
    }

    /** RGB bytes (HWC) of image i, or null when the file could not be decoded. */
    public byte[] pixels(int i) {
        return pixels[i];
    }

    /** Why image i could not be decoded, or null. */
    public String problem(int i) {
        return problems[i];
    }

    public String path(int i) {
        return paths.get(i);
    }

    /** RGB bytes of the given samples' images, in sample order. */
    public List<byte[]> pixels(List<BatchLoader.Sample> samples) {
        return samples.stream().map(s -> pixels(s.cacheIndex())).toList();
    }

    /** Hash of the relative paths of the given samples, in order: ties what was trained to its data. */
    public String sha256(List<BatchLoader.Sample> samples) {
        StringBuilder sb = new StringBuilder();
        samples.forEach(s -> sb.append(path(s.cacheIndex())).append('\n'));
        return Hashing.sha256(sb.toString());
    }
}
