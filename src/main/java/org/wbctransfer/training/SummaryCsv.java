package org.wbctransfer.training;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.wbctransfer.util.AtomicFiles;

/**
 * The run's per-epoch {@code summary.csv}. Rewritten whole (atomically) after every epoch, so it
 * never ends in a half line; on resume, rows past the checkpoint's epoch are dropped.
 */
final class SummaryCsv implements TrainingListener {

    private final Path file;
    private final List<String> rows = new ArrayList<>();

    SummaryCsv(Path file) throws IOException {
        this.file = file;
        if (Files.isRegularFile(file)) {
            List<String> lines = Files.readAllLines(file);
            rows.addAll(lines.subList(Math.min(1, lines.size()), lines.size()));
        }
    }

    void truncateTo(int epochs) throws IOException {
        while (rows.size() > epochs) {
            rows.remove(rows.size() - 1);
        }
        write();
    }

    @Override
    public void onEpochEnd(TrainingRun run, EpochResult r) {
        rows.add(r.toCsv());
        try {
            write();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void write() throws IOException {
        StringBuilder sb = new StringBuilder(EpochResult.CSV_HEADER).append('\n');
        rows.forEach(r -> sb.append(r).append('\n'));
        AtomicFiles.writeString(file, sb.toString());
    }
}
