package org.wbctransfer.pretrain;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.wbctransfer.config.Defaults;
import org.wbctransfer.data.ImageFolder;
import org.wbctransfer.data.SplitManifest;
import org.wbctransfer.util.UserException;

/**
 * Keeps the classification data's test images out of the unlabeled stages. SimSiam or the
 * autoencoder pointed at a folder that holds images of the classification data (the data
 * itself, a folder above it, a copy) would train the backbone on test images that the
 * fine-tuned model is later scored on. Such a folder is refused unless the split manifest of
 * that data is given; its test rows are then dropped and the rest used.
 *
 * <p>An image of the folder belongs to the classification data when it is the same file (same
 * file key: the path itself, a link or a hard link) or has the same file name and byte size as
 * one of its images (a copy; Raabin's file names are unique and carry the capture time). A
 * re-encoded or renamed copy is not caught: comparing pixels would cost a decode of both sets.
 *
 * <p>The classification data is walked once per guard, however many times it is applied (the
 * check before a chain trains, then the stage's load).
 */
public final class ClassificationGuard {

    private static final Logger LOG = LoggerFactory.getLogger(ClassificationGuard.class);
    private final Path data;
    private final Path manifest;
    private Index index;

    /**
     * @param data the classification data, a class-per-folder root (the one the manifest was drawn over)
     * @param manifest the split manifest of {@code data}, or null
     */
    public ClassificationGuard(Path data, Path manifest) {
        this.data = data;
        this.manifest = manifest;
    }

    public Path data() {
        return data;
    }

    public Path manifest() {
        return manifest;
    }

    /** From a stage's settings: unset, the data is the project's default and there is no manifest. */
    public static ClassificationGuard of(String data, String manifest) {
        return new ClassificationGuard(Path.of(data != null ? data : Defaults.DATA),
                manifest != null ? Path.of(manifest) : null);
    }

    /**
     * A folder's images after the check.
     *
     * @param kept the images to use, in the order given
     * @param found how many of the given images belong to the classification data
     * @param dropped how many of those were test rows of the manifest, and left out
     */
    public record Result(List<String> kept, int found, int dropped) {}

    /** Checks every image under {@code root}, found as {@link UnlabeledImages} finds them. */
    public Result apply(Path root) throws IOException {
        return apply(root, UnlabeledImages.scan(root));
    }

    /**
     * Checks the images of an unlabeled folder.
     *
     * @param root the unlabeled folder
     * @param paths its images, '/'-separated and relative to {@code root}
     * @throws UserException when some belong to the classification data and no manifest was
     *     given, or when the manifest does not list them
     */
    public Result apply(Path root, List<String> paths) throws IOException {
        if (!Files.isDirectory(data)) {
            if (manifest != null) {
                throw new UserException(data + ": classification data not found, so the test rows of " + manifest
                        + " cannot be matched to the images of " + root + " (set classificationData: in the stage)");
            }
            // No classification data on this machine (or another layout): nothing it could leak.
            return new Result(paths, 0, 0);
        }
        SplitManifest split = manifest != null ? SplitManifest.read(manifest) : null;
        if (index == null) {
            index = Index.of(data);
        }
        Map<String, String> found = new LinkedHashMap<>(); // image of root -> image of data
        for (String p : paths) {
            String match = index.match(root.resolve(p));
            if (match != null) {
                found.put(p, match);
            }
        }
        if (found.isEmpty()) {
            return new Result(paths, 0, 0);
        }
        if (split == null) {
            throw new UserException(root + ": " + found.size() + " of its " + paths.size()
                    + " images are images of the classification data " + data + " (e.g. " + found.keySet().iterator().next()
                    + "), and self-supervision on its test images would leak them; give the split manifest"
                    + " (manifest: in the stage settings, or wbc pretrain --manifest) to drop its test rows");
        }
        Map<String, Boolean> isTest = new HashMap<>();
        split.entries().forEach(e -> isTest.put(e.relativePath(), e.test()));
        List<String> unlisted = new ArrayList<>();
        for (String d : found.values()) {
            if (!isTest.containsKey(d) && split.skipped().stream().noneMatch(s -> s.startsWith(d + ": "))) {
                unlisted.add(d);
            }
        }
        if (!unlisted.isEmpty()) {
            throw new UserException(manifest + ": does not list " + unlisted.size() + " of the " + found.size()
                    + " images of " + data + " found in " + root + " (e.g. " + unlisted.get(0) + "); is it a split of "
                    + data + "?");
        }
        List<String> kept = new ArrayList<>(paths.size());
        for (String p : paths) {
            String d = found.get(p);
            // Files the manifest skipped (unreadable) are in no split; the cache will skip them too.
            if (d == null || !isTest.getOrDefault(d, false)) {
                kept.add(p);
            }
        }
        int dropped = paths.size() - kept.size();
        LOG.info("{}: {} of its {} images belong to the classification data {}; dropped the {} test rows of {}", root,
                found.size(), paths.size(), data, dropped, manifest);
        return new Result(kept, found.size(), dropped);
    }

    /** The classification data's images by file key and by name and size, each to its relative path. */
    private record Index(Map<Object, String> byKey, Map<String, String> byNameAndSize) {

        static Index of(Path data) throws IOException {
            Map<Object, String> byKey = new HashMap<>();
            Map<String, String> byName = new HashMap<>();
            // One walk; the attributes come with it, so no file is opened and none costs a second stat.
            Files.walkFileTree(data, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes a) throws IOException {
                    String name = file.getFileName().toString();
                    if (!ImageFolder.IMAGE_EXTENSIONS.contains(ImageFolder.extension(name))) {
                        return FileVisitResult.CONTINUE;
                    }
                    BasicFileAttributes t = a.isSymbolicLink() ? Files.readAttributes(file, BasicFileAttributes.class) : a;
                    String rel = UnlabeledImages.relative(data, file);
                    if (t.fileKey() != null) {
                        byKey.put(t.fileKey(), rel);
                    }
                    byName.put(key(name, t.size()), rel);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    // An unreadable corner of the classification data is not the unlabeled stage's problem.
                    return FileVisitResult.CONTINUE;
                }
            });
            return new Index(byKey, byName);
        }

        /** The relative path of the classification image {@code file} is or copies, or null. */
        String match(Path file) {
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(file, BasicFileAttributes.class);
            } catch (IOException e) {
                return null; // unreadable: loading reports it
            }
            // File keys (device and inode on Linux) catch the data itself, links and hard links
            // under any name; where the platform has none, name and size still catch the data.
            String rel = a.fileKey() != null ? byKey.get(a.fileKey()) : null;
            return rel != null ? rel : byNameAndSize.get(key(file.getFileName().toString(), a.size()));
        }

        private static String key(String name, long size) {
            return name + '\0' + size;
        }
    }
}
