package org.wbctransfer.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** scripts/publish-report.sh: the small files of a grid, no weights, and nothing added by hand lost unseen. */
class PublishReportScriptTest {

    @TempDir
    Path tmp;

    private record Run(int code, String err) {}

    private Run publish(Path grid, Path dest, String... more) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("bash", Path.of("scripts/publish-report.sh").toAbsolutePath().toString(),
                grid.toString(), dest.toString()));
        cmd.addAll(List.of(more));
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(p.waitFor(), err);
    }

    @Test
    void republishingRefusesToDropAHandAddedEntryUnlessItIsKeptOrDroppedByName() throws Exception {
        Path grid = tmp.resolve("grid");
        Path run = grid.resolve("baseline/WBC_10-split1-seed0");
        Files.createDirectories(run.resolve("model"));
        Files.writeString(grid.resolve("results.json"), "{}");
        Files.writeString(run.resolve("config.json"), "{}");
        Files.writeString(run.resolve("model/weights.params"), "w");
        Path dest = tmp.resolve("docs/grid");

        assertThat(publish(grid, dest).code()).isZero();
        assertThat(dest.resolve("results.json")).exists();
        assertThat(dest.resolve("baseline/WBC_10-split1-seed0/config.json")).exists();
        assertThat(dest.resolve("baseline/WBC_10-split1-seed0/model")).doesNotExist();

        Files.createDirectories(dest.resolve("segmenter"));
        Files.writeString(dest.resolve("segmenter/summary.csv"), "epoch\n");
        Files.writeString(dest.resolve("timing.txt"), "1.55x\n");
        Run refused = publish(grid, dest);
        assertThat(refused.code()).isEqualTo(2);
        assertThat(refused.err()).contains("holds segmenter timing.txt, which").contains("--keep");
        assertThat(dest.resolve("timing.txt")).exists();

        Run unknownKeep = publish(grid, dest, "--keep", "segmenter", "--keep", "timing.txt", "--keep", "nothing");
        assertThat(unknownKeep.code()).isEqualTo(2);
        assertThat(unknownKeep.err()).contains("--keep nothing: no such entry");

        assertThat(publish(grid, dest, "--keep", "segmenter/", "--keep", "timing.txt").code()).isZero();
        assertThat(Files.readString(dest.resolve("segmenter/summary.csv"))).isEqualTo("epoch\n");
        assertThat(dest.resolve("timing.txt")).exists();

        assertThat(publish(grid, dest, "--keep", "timing.txt", "--drop-extra").code()).isZero();
        assertThat(dest.resolve("segmenter")).doesNotExist();
        assertThat(dest.resolve("timing.txt")).exists();
        try (var s = Files.list(tmp.resolve("docs"))) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("grid");
        }
    }
}
