package org.wbctransfer.util;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {

    @TempDir
    Path dir;

    private static long entries(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.count();
        }
    }

    @Test
    void writesAndReplacesWithoutLeavingTempFiles() throws IOException {
        Path target = dir.resolve("a/b/out.txt");
        AtomicFiles.writeString(target, "first");
        AtomicFiles.writeString(target, "second");
        assertThat(Files.readString(target)).isEqualTo("second");
        assertThat(entries(target.getParent())).isEqualTo(1);

        AtomicFiles.writeBytes(target, "bytes".getBytes(StandardCharsets.UTF_8));
        assertThat(Files.readString(target)).isEqualTo("bytes");
        assertThat(entries(target.getParent())).isEqualTo(1);
    }

    @Test
    void failingWriterKeepsOldContentAndRemovesTemp() throws IOException {
        Path target = dir.resolve("metrics.json");
        AtomicFiles.writeString(target, "old");

        assertThatThrownBy(() -> AtomicFiles.write(target, tmp -> {
            Files.writeString(tmp, "partial");
            throw new IOException("disk full");
        })).isInstanceOf(IOException.class).hasMessage("disk full");
        assertThat(Files.readString(target)).isEqualTo("old");
        assertThat(entries(dir)).isEqualTo(1);

        assertThatThrownBy(() -> AtomicFiles.write(target, tmp -> {
            throw new IllegalStateException("bug");
        })).isInstanceOf(IllegalStateException.class);
        assertThat(Files.readString(target)).isEqualTo("old");
        assertThat(entries(dir)).isEqualTo(1);
    }

    @Test
    void staleTempFilesOfAKilledWriterAreRecognisedAndNothingElse() throws IOException {
        // What Files.createTempFile makes for a write of last.ckpt: "." + name + "." + digits + ".tmp".
        Path stale = Files.createTempFile(dir, ".last.ckpt.", ".tmp");
        Path keep1 = Files.writeString(dir.resolve("notes.tmp"), "user file");
        Path keep2 = Files.writeString(dir.resolve(".hidden.tmp"), "no digits");
        Path keep3 = Files.writeString(dir.resolve("last.ckpt"), "intact");
        Files.createDirectories(dir.resolve("sub"));
        Path nested = Files.createTempFile(dir.resolve("sub"), ".x.", ".tmp");

        assertThat(AtomicFiles.deleteStaleTemps(dir)).containsExactly(stale);

        assertThat(stale).doesNotExist();
        assertThat(keep1).exists();
        assertThat(keep2).exists();
        assertThat(keep3).exists();
        assertThat(nested).as("sub-folders are left alone").exists();
        assertThat(AtomicFiles.deleteStaleTemps(dir.resolve("missing"))).isEmpty();
    }

    @Test
    void aFolderIsWrittenWholeReplacesAnOldOneOnlyOnceCompleteAndAFailureLeavesTheOldOne() throws IOException {
        Path target = dir.resolve("out/bundle");
        AtomicFiles.writeFolder(target, tmp -> Files.writeString(tmp.resolve("a.txt"), "first"));
        assertThat(Files.readString(target.resolve("a.txt"))).isEqualTo("first");

        AtomicFiles.writeFolder(target, tmp -> Files.writeString(tmp.resolve("b.txt"), "second"));
        assertThat(target.resolve("a.txt")).as("the old folder is replaced, not merged").doesNotExist();
        assertThat(Files.readString(target.resolve("b.txt"))).isEqualTo("second");
        assertThat(entries(target.getParent())).as("no temp or old folder left beside it").isEqualTo(1);

        assertThatThrownBy(() -> AtomicFiles.writeFolder(target, tmp -> {
            Files.writeString(tmp.resolve("c.txt"), "partial");
            throw new IOException("disk full");
        })).hasMessage("disk full");
        assertThat(Files.readString(target.resolve("b.txt"))).isEqualTo("second");
        assertThat(target.resolve("c.txt")).doesNotExist();
        assertThat(entries(target.getParent())).isEqualTo(1);
    }
}
