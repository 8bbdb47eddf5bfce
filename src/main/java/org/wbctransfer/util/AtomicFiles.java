package org.wbctransfer.util;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Objects;

/**
 * Writes files so that readers never observe a half-written result: content goes to a temp file in
 * the target's own directory (same file system, so the rename can be atomic) and is then moved over
 * the target in one step. An interrupted or failed write leaves the previous content untouched.
 */
public final class AtomicFiles {

    /** Writes the given temp path; may throw, in which case the target is left as it was. */
    @FunctionalInterface
    public interface IOConsumer<T> {
        void accept(T value) throws IOException;
    }

    private AtomicFiles() {}

    public static void writeString(Path target, String content) throws IOException {
        Objects.requireNonNull(content, "content");
        writeBytes(target, content.getBytes(StandardCharsets.UTF_8));
    }

    public static void writeBytes(Path target, byte[] content) throws IOException {
        Objects.requireNonNull(content, "content");
        write(target, tmp -> Files.write(tmp, content));
    }

    /** Names of the temp files {@link #write} makes: "." + target name + "." + random digits + ".tmp". */
    private static final java.util.regex.Pattern TEMP = java.util.regex.Pattern.compile("\\..+\\.[0-9]+\\.tmp");

    /**
     * Deletes the temp files a killed process (SIGKILL, power loss) left behind in {@code dir}, not
     * in its sub-folders. Call it only where no other process is writing, e.g. when resuming a run.
     *
     * @return the files deleted
     */
    public static java.util.List<Path> deleteStaleTemps(Path dir) throws IOException {
        java.util.List<Path> deleted = new java.util.ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return deleted;
        }
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (TEMP.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p)
                        && Files.deleteIfExists(p)) {
                    deleted.add(p);
                }
            }
        }
        return deleted;
    }

    /**
     * Writes a folder whole or not at all: {@code writer} fills a temp folder beside {@code target},
     * which is then renamed to it; on failure the temp folder is removed. An existing {@code target}
     * is renamed aside only once the new folder is complete, and deleted once that is in place: the
     * path never holds a half-written folder (between the two renames it is briefly absent; if the
     * second fails the old one is put back). Callers that must not replace a folder refuse it first.
     */
    public static void writeFolder(Path target, IOConsumer<Path> writer) throws IOException {
        Path absolute = target.toAbsolutePath();
        Files.createDirectories(absolute.getParent());
        Path tmp = createTempDirectory(absolute.getParent(), "." + absolute.getFileName() + ".");
        try {
            writer.accept(tmp);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
        Path old = null;
        if (Files.exists(absolute)) {
            old = createUnique(absolute.getParent(), "." + absolute.getFileName() + ".old-", "", true);
            Files.delete(old); // only the unique name was wanted: a rename cannot replace a folder
            move(absolute, old, false);
        }
        try {
            move(tmp, absolute, false);
        } catch (IOException | RuntimeException e) {
            if (old != null) {
                move(old, absolute, false);
            }
            deleteTree(tmp);
            throw e;
        }
        if (old != null) {
            deleteTree(old);
        }
    }

    /** Renames atomically where the file system can; otherwise a plain move. */
    private static void move(Path from, Path to, boolean replace) throws IOException {
        try {
            if (replace) {
                Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } else {
                Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (AtomicMoveNotSupportedException e) {
            // Some file systems (e.g. certain network mounts) cannot rename atomically; a plain
            // move is still better than failing to write results at all.
            if (replace) {
                Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
            } else {
                Files.move(from, to);
            }
        }
    }

    /** Deletes a folder and everything in it (a temp folder a failed write leaves); nothing happens when it does not exist. */
    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /**
     * A new, empty temp folder in {@code dir} named prefix + random digits, with the permissions
     * the process's umask gives (Files.createTempDirectory makes it 0700, so a bundle renamed
     * into place from it was unreadable to everyone else).
     */
    public static Path createTempDirectory(Path dir, String prefix) throws IOException {
        return createUnique(dir, prefix, "", true);
    }

    /**
     * Creates prefix + random digits + suffix in dir with default attributes: 0666 (files) or
     * 0777 (folders) less the umask, as any other program's output. Files.createTempFile would
     * make it 0600, and the rename would carry that to the result.
     */
    private static Path createUnique(Path dir, String prefix, String suffix, boolean folder) throws IOException {
        for (int attempt = 0; ; attempt++) {
            long n = java.util.concurrent.ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
            Path p = (dir == null ? Path.of("") : dir).resolve(prefix + n + suffix);
            try {
                return folder ? Files.createDirectory(p) : Files.createFile(p);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (attempt >= 100) {
                    throw e;
                }
            }
        }
    }

    public static void write(Path target, IOConsumer<Path> writerToTemp) throws IOException {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(writerToTemp, "writerToTemp");
        Path absolute = target.toAbsolutePath();
        if (Files.isDirectory(absolute)) {
            // The rename would replace an empty folder, or fail naming our temp file.
            throw new UserException(target + ": is a folder, not a file");
        }
        Path dir = absolute.getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        // Leading dot keeps half-written files out of casual listings and globs like *.json.
        Path tmp = createUnique(dir, "." + absolute.getFileName() + ".", ".tmp", false);
        boolean moved = false;
        try {
            writerToTemp.accept(tmp);
            move(tmp, absolute, true);
            moved = true;
        } finally {
            if (!moved) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException suppressed) {
                    // The original failure is the one worth reporting; a stray temp file is harmless.
                }
            }
        }
    }
}
