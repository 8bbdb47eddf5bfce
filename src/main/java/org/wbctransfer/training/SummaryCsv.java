package org.wbctransfer.training;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.wbctransfer.util.AtomicFiles;

/**
 * A run's or a pre-training stage's per-epoch {@code summary.csv}. Rewritten whole (atomically)
 * after every epoch, so it never ends in a half line; on resume, rows past the checkpoint's epoch
 * are dropped.
 */
public final class SummaryCsv implements TrainingListener {

    private final Path file;
    private final String header;
    private final List<String> rows = new ArrayList<>();

    /** A new summary; nothing is written before the first row. */
    public SummaryCsv(Path file, String header) {
        this.file = file;
        this.header = header;
    }

    /** A fine-tuning run's summary, keeping the rows of the {@code epochs} already done. */
    static SummaryCsv resumed(Path file, int epochs) throws IOException {
        SummaryCsv s = new SummaryCsv(file, EpochResult.CSV_HEADER);
        if (Files.isRegularFile(file)) {
            List<String> lines = Files.readAllLines(file);
            s.rows.addAll(lines.subList(Math.min(1, lines.size()), Math.min(lines.size(), epochs + 1)));
        }
        s.write();
        return s;
    }

    /** Adds a row of values, doubles with five decimals. */
    public void add(Object... values) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Object v : values) {
            sb.append(sb.isEmpty() ? "" : ",").append(v instanceof Double d ? String.format(Locale.ROOT, "%.5f", d) : v);
        }
        rows.add(sb.toString());
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
        StringBuilder sb = new StringBuilder(header).append('\n');
        rows.forEach(r -> sb.append(r).append('\n'));
        AtomicFiles.writeString(file, sb.toString());
    }
}
