package org.wbctransfer.data;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.wbctransfer.util.UserException;

/**
 * A class-per-folder image dataset ({@code root/<Class>/<image>}), the layout of Raabin-WBC and
 * of most outside test sets, or a labelled list ({@code root/images/<image>} with
 * {@code root/labels.csv} of {@code image,label} rows), the layout of each wbc-seg source. Class
 * order is alphabetical so that label indices do not depend on the file system's listing order.
 *
 * @param warnings non-fatal problems met while scanning (skipped files, empty classes), one line each
 * @param skipped files in class folders that are not among the items, with the reason
 */
public record ImageFolder(Path root, List<String> classNames, List<Item> items, List<String> warnings,
        List<Skipped> skipped) {

    /** Lower-case file extensions read as images; shared with scanners of unlabeled folders. */
    public static final Set<String> IMAGE_EXTENSIONS = Set.of("jpg", "jpeg", "png", "bmp", "gif", "tif", "tiff");

    /** One image file, by its path relative to the dataset root ('/'-separated). */
    public record Item(String relativePath, String className) {}

    /** A file in a class folder that is not used, and why ("not an image file extension"). */
    public record Skipped(String relativePath, String problem) {
        @Override
        public String toString() {
            return relativePath + ": " + problem;
        }
    }

    public ImageFolder {
        classNames = List.copyOf(classNames);
        items = List.copyOf(items);
        warnings = List.copyOf(warnings);
        skipped = List.copyOf(skipped);
    }

    /** Fails with a user-facing message when the dataset root is missing or unusable. */
    public static void checkRoot(Path root) {
        if (!Files.exists(root)) {
            throw new UserException(root + ": folder not found. " + DataLayout.HELP);
        }
        if (!Files.isDirectory(root)) {
            throw new UserException(root + ": not a folder. " + DataLayout.HELP);
        }
        if (!Files.isReadable(root)) {
            throw new UserException(root + ": folder is not readable");
        }
    }

    public static ImageFolder scan(Path root) {
        return scan(root, false);
    }

    /** The labelled-list layout's file names. */
    public static final String LABELS = "labels.csv";
    public static final String IMAGES = "images";

    /** Whether the folder is in the labelled-list layout ({@code images/} and {@code labels.csv}). */
    public static boolean isLabelledList(Path root) {
        return Files.isRegularFile(root.resolve(LABELS)) && Files.isDirectory(root.resolve(IMAGES));
    }

    /** Either layout: a labelled list when the folder has one, else class folders. */
    public static ImageFolder scanEither(Path root, boolean strict) {
        return isLabelledList(root) ? scanLabelledList(root, strict) : scan(root, strict);
    }

    /**
     * Reads {@code labels.csv} (a header, then {@code image,label} per line; the image relative to
     * {@code images/}). A row naming a missing file, a row without a label and an image without a
     * row are skipped with a warning (strict: an error naming the file).
     */
    public static ImageFolder scanLabelledList(Path root, boolean strict) {
        checkRoot(root);
        Path csv = root.resolve(LABELS);
        List<String> lines;
        try {
            lines = Files.readAllLines(csv);
        } catch (IOException e) {
            throw new UserException(csv + ": cannot read (" + e.getMessage() + ")");
        }
        if (lines.isEmpty() || !lines.get(0).strip().toLowerCase(Locale.ROOT).startsWith("image,")) {
            throw new UserException(csv + ": expected a header 'image,label'");
        }
        List<String> warnings = new ArrayList<>();
        List<Skipped> skipped = new ArrayList<>();
        List<Item> items = new ArrayList<>();
        // Every file a row names, usable or not: a file is "without a row" only if none names it.
        java.util.Set<String> listed = new java.util.HashSet<>();
        for (int i = 1; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            int comma = line.lastIndexOf(',');
            String file = comma < 0 ? line : line.substring(0, comma).strip();
            String label = comma < 0 ? "" : line.substring(comma + 1).strip();
            String rel = IMAGES + "/" + file;
            listed.add(file);
            String problem = label.isEmpty() ? "no label (line " + (i + 1) + " of " + LABELS + ")"
                    : !Files.isRegularFile(root.resolve(rel)) ? "listed in " + LABELS + " but not found"
                    : !IMAGE_EXTENSIONS.contains(extension(file)) ? "not an image file extension" : null;
            if (problem != null) {
                if (strict) {
                    throw new UserException(root.resolve(rel) + ": " + problem);
                }
                warnings.add(root.resolve(rel) + ": " + problem + "; skipped");
                skipped.add(new Skipped(rel, problem));
                continue;
            }
            items.add(new Item(rel, label));
        }
        for (Path f : sortedChildren(root.resolve(IMAGES))) {
            String fn = f.getFileName().toString();
            if (!fn.startsWith(".") && Files.isRegularFile(f) && !listed.contains(fn)) {
                if (strict) {
                    throw new UserException(f + ": no row in " + LABELS);
                }
                warnings.add(f + ": no row in " + LABELS + "; skipped");
                skipped.add(new Skipped(IMAGES + "/" + fn, "no row in " + LABELS));
            }
        }
        if (items.isEmpty()) {
            throw new UserException(csv + ": lists no usable images");
        }
        items.sort(java.util.Comparator.comparing(Item::className).thenComparing(Item::relativePath));
        List<String> classes = items.stream().map(Item::className).distinct().toList();
        return new ImageFolder(root, classes, items, warnings, skipped);
    }

    /**
     * Lists the class folders and their image files. Hidden entries (.DS_Store, editor swap files,
     * our own temp files) and sub-folders of class folders (a symbolic link back up the tree
     * included) are ignored. A file that cannot be used (no image extension, a broken link) and a
     * class folder without images are skipped with a warning, or, when {@code strict}, are a
     * {@link UserException} naming the file and the problem. Missing or unlistable folders and
     * class folders differing only in case are always errors.
     */
    public static ImageFolder scan(Path root, boolean strict) {
        checkRoot(root);
        List<String> classes = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        List<Skipped> skipped = new ArrayList<>();
        for (Path dir : sortedChildren(root)) {
            String name = dir.getFileName().toString();
            if (name.startsWith(".") || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            if (hasLineBreak(name)) {
                String problem = "folder name holds a line break, which a split manifest cannot hold; rename it";
                if (strict) {
                    throw new UserException(printable(dir.toString()) + ": " + problem);
                }
                warnings.add(printable(dir.toString()) + ": " + problem + "; class left out");
                continue;
            }
            for (String seen : classes) {
                if (seen.equalsIgnoreCase(name)) {
                    throw new UserException(dir + ": class folders '" + seen + "' and '" + name
                            + "' differ only in case; merge or rename one");
                }
            }
            classes.add(name);
        }
        if (classes.isEmpty()) {
            throw new UserException(root + ": no class folders found. " + DataLayout.HELP);
        }
        List<Item> items = new ArrayList<>();
        List<String> nonEmpty = new ArrayList<>();
        for (String cls : classes) {
            int before = items.size();
            for (Path f : sortedChildren(root.resolve(cls))) {
                String fn = f.getFileName().toString();
                if (fn.startsWith(".")) {
                    continue; // .DS_Store, editor swap files, our own temp files
                }
                String problem = null;
                if (Files.isSymbolicLink(f) && !Files.exists(f)) {
                    problem = whyMissing(f);
                } else if (!Files.isRegularFile(f)) {
                    continue; // a sub-folder, or a link to one (possibly back up the tree)
                } else if (!IMAGE_EXTENSIONS.contains(extension(fn))) {
                    problem = "not an image file extension";
                } else if (hasLineBreak(fn)) {
                    problem = "file name holds a line break, which a split manifest cannot hold; rename it";
                }
                if (problem != null) {
                    if (strict) {
                        throw new UserException(printable(f.toString()) + ": " + problem);
                    }
                    warnings.add(printable(f.toString()) + ": " + problem + "; skipped");
                    skipped.add(new Skipped(cls + "/" + fn, problem));
                    continue;
                }
                items.add(new Item(cls + "/" + fn, cls));
            }
            if (items.size() == before) {
                if (strict) {
                    throw new UserException(root.resolve(cls) + ": class folder holds no images");
                }
                warnings.add(root.resolve(cls) + ": class folder holds no images; class left out");
            } else {
                nonEmpty.add(cls);
            }
        }
        if (items.isEmpty()) {
            throw new UserException(root + ": class folders hold no images. " + DataLayout.HELP);
        }
        return new ImageFolder(root, nonEmpty, items, warnings, skipped);
    }

    /**
     * The same folder without the given images (relative paths), which are added to
     * {@link #skipped()} with their problem; a class left without images is left out with a
     * warning. Used once images have been decoded and some turned out unreadable.
     */
    public ImageFolder without(java.util.Map<String, String> unusable) {
        if (unusable.isEmpty()) {
            return this;
        }
        List<Item> kept = new ArrayList<>();
        List<String> w = new ArrayList<>(warnings);
        List<Skipped> s = new ArrayList<>(skipped);
        for (Item it : items) {
            String problem = unusable.get(it.relativePath());
            if (problem == null) {
                kept.add(it);
            } else {
                s.add(new Skipped(it.relativePath(), problem));
            }
        }
        List<String> classes = new ArrayList<>();
        for (String c : classNames) {
            if (kept.stream().anyMatch(it -> it.className().equals(c))) {
                classes.add(c);
            } else {
                w.add(root.resolve(c) + ": no readable images; class left out");
            }
        }
        if (kept.isEmpty()) {
            throw new UserException(root + ": none of the " + items.size() + " image files could be read");
        }
        s.sort(java.util.Comparator.comparing(Skipped::relativePath));
        return new ImageFolder(root, classes, kept, w, s);
    }

    /** Entries of a folder in name order; an unlistable folder is a user error naming it. */
    public static List<Path> sortedChildren(Path dir) {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            ds.forEach(out::add);
        } catch (IOException e) {
            throw new UserException(dir + ": cannot list folder (" + e.getMessage() + ")", e);
        }
        Collections.sort(out);
        return out;
    }

    /**
     * Image files anywhere under root, sorted; hidden files and folders are skipped and symbolic
     * links are not followed (a link back up the tree would loop). An unreadable entry is passed
     * to {@code onUnreadable} with the reason, and the walk goes on.
     */
    public static List<Path> findImages(Path root, java.util.function.BiConsumer<Path, String> onUnreadable)
            throws IOException {
        return findImages(root, onUnreadable, (file, why) -> { });
    }

    /** Image types people keep beside their JPEGs that ImageIO cannot read. */
    public static final Set<String> UNSUPPORTED_IMAGE_EXTENSIONS = Set.of("webp", "heic", "heif", "avif", "jxl", "jp2",
            "j2k", "jpx", "svg", "psd", "dng", "cr2", "nef", "arw", "ico");

    /**
     * As {@link #findImages(Path, java.util.function.BiConsumer)}, and files of an image type this
     * tool cannot read (WebP, HEIC...) go to {@code onUnsupported} with the reason instead of being
     * passed over in silence; other files (notes, CSVs) are still ignored.
     */
    public static List<Path> findImages(Path root, java.util.function.BiConsumer<Path, String> onUnreadable,
            java.util.function.BiConsumer<Path, String> onUnsupported) throws IOException {
        List<Path> out = new ArrayList<>();
        Files.walkFileTree(root, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult preVisitDirectory(Path dir, java.nio.file.attribute.BasicFileAttributes a) {
                return !dir.equals(root) && hidden(dir)
                        ? java.nio.file.FileVisitResult.SKIP_SUBTREE : java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFile(Path file, java.nio.file.attribute.BasicFileAttributes a) {
                // .DS_Store, editor swap files and our own temp files start with a dot.
                String ext = extension(file.getFileName().toString());
                if (a.isRegularFile() && !hidden(file) && IMAGE_EXTENSIONS.contains(ext)) {
                    out.add(file);
                } else if (a.isRegularFile() && !hidden(file) && UNSUPPORTED_IMAGE_EXTENSIONS.contains(ext)) {
                    onUnsupported.accept(file, "unsupported image type (." + ext + "); convert it to PNG or JPEG");
                }
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFileFailed(Path file, IOException e) {
                onUnreadable.accept(file, e.getMessage());
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
        Collections.sort(out);
        return out;
    }

    private static boolean hidden(Path p) {
        return p.getFileName() != null && p.getFileName().toString().startsWith(".");
    }

    /**
     * A split manifest is read line by line (as Java reads lines: at LF, CR or CRLF), so a name
     * holding either cannot be one of its rows, quoted or not.
     */
    static boolean hasLineBreak(String name) {
        return name.indexOf('\n') >= 0 || name.indexOf('\r') >= 0;
    }

    /** A name shown on one line: line breaks and other control characters as \\n, \\r, \\uXXXX. */
    public static String printable(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (Character.isISOControl(c)) {
                        sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.toString();
    }

    /**
     * Why a path that does not exist (as Files.exists sees it, following links) is missing: a
     * symbolic link loop, a broken link, or simply no such file. "file not found" for a loop
     * would send the user looking for a file that is right there.
     */
    public static String whyMissing(Path p) {
        try {
            p.toRealPath();
        } catch (java.nio.file.FileSystemException e) {
            String reason = String.valueOf(e.getReason()).toLowerCase(Locale.ROOT);
            if (reason.contains("too many levels of symbolic links")) {
                return "symbolic link loop";
            }
            if (Files.isSymbolicLink(p)) {
                return "broken symbolic link";
            }
            return e instanceof java.nio.file.NoSuchFileException ? "file not found"
                    : "cannot read (" + (e.getReason() == null ? e.getClass().getSimpleName() : e.getReason()) + ")";
        } catch (IOException e) {
            return "cannot read (" + e.getMessage() + ")";
        }
        return "file not found";
    }

    /** Lower-case extension without the dot, or "" when there is none. */
    public static String extension(String fileName) {
        int dot = fileName.lastIndexOf('.');
        return dot < 0 ? "" : fileName.substring(dot + 1).toLowerCase(Locale.ROOT);
    }
}
