package org.wbctransfer.experiment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelMetadata;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Json;

/**
 * The ranked candidates of a search ({@code search: true}): one row per finished cell with its
 * validation figures at the epoch kept (read from the cell's summary.csv and model metadata; no
 * test figure exists), best first by validation macro F1, then validation accuracy, then the
 * cell's names. Written as {@value #CSV} and {@value #MD} in the experiment folder.
 */
public final class SearchTable {

    public static final String CSV = "search.csv";
    public static final String MD = "search.md";
    public static final List<String> HEADER = List.of("rank", "arm", "subset", "split", "seed", "val_macro_f1",
            "val_accuracy", "best_epoch", "epochs", "minutes", "train_images", "val_images", "settings");

    private SearchTable() {}

    /** One candidate: a cell and its validation figures at the epoch kept. */
    public record Row(String arm, String subset, long split, long seed, double valMacroF1, double valAccuracy,
            int bestEpoch, int epochs, double minutes, int trainImages, int valImages, String settings) {}

    /** Best first: validation macro F1, then accuracy (both descending), then arm, subset, split, seed. */
    public static final Comparator<Row> RANKING = Comparator.comparingDouble(Row::valMacroF1).reversed()
            .thenComparing(Comparator.comparingDouble(Row::valAccuracy).reversed())
            .thenComparing(Row::arm).thenComparing(Row::subset).thenComparingLong(Row::split)
            .thenComparingLong(Row::seed);

    public static List<Row> rank(List<Row> rows) {
        return rows.stream().sorted(RANKING).toList();
    }

    /** Writes search.csv and search.md for these cells; returns the ranked rows. */
    public static List<Row> write(Path outDir, String title, List<Cell> cells, List<ExperimentSpec.Arm> arms)
            throws IOException {
        List<Row> rows = new ArrayList<>();
        List<String> unfinished = new ArrayList<>();
        for (Cell c : cells) {
            Row r = row(c, arms);
            if (r == null) {
                unfinished.add(c.label());
            } else {
                rows.add(r);
            }
        }
        List<Row> ranked = rank(rows);
        Files.createDirectories(outDir);
        AtomicFiles.writeString(outDir.resolve(CSV), csv(ranked));
        AtomicFiles.writeString(outDir.resolve(MD), markdown(title, ranked, unfinished));
        return ranked;
    }

    static String csv(List<Row> ranked) {
        StringBuilder sb = new StringBuilder();
        ReportCsv.csvLine(sb, HEADER);
        for (int i = 0; i < ranked.size(); i++) {
            ReportCsv.csvLine(sb, fields(i + 1, ranked.get(i), false));
        }
        return sb.toString();
    }

    static String markdown(String title, List<Row> ranked, List<String> unfinished) {
        Table.Builder t = Table.builder(HEADER, 5);
        for (int i = 0; i < ranked.size(); i++) {
            t.row(fields(i + 1, ranked.get(i), true));
        }
        StringBuilder sb = new StringBuilder("# ").append(title).append("\n\n")
                .append("Candidates ranked by validation macro F1 on each cell's carve-out of its training budget, at the"
                        + " epoch kept (best validation macro F1). No test image was read: this is a search, and its"
                        + " winner is confirmed on a test split afterwards, once.\n\n")
                .append(t.build().markdown());
        if (!unfinished.isEmpty()) {
            sb.append("\nNot finished (").append(unfinished.size()).append("): ")
                    .append(String.join("; ", unfinished)).append('\n');
        }
        return sb.toString();
    }

    private static List<String> fields(int rank, Row r, boolean rounded) {
        return List.of(String.valueOf(rank), r.arm(), r.subset(), String.valueOf(r.split()), String.valueOf(r.seed()),
                rounded ? String.format(Locale.ROOT, "%.4f", r.valMacroF1()) : ReportCsv.num(r.valMacroF1()),
                rounded ? String.format(Locale.ROOT, "%.4f", r.valAccuracy()) : ReportCsv.num(r.valAccuracy()),
                String.valueOf(r.bestEpoch()), String.valueOf(r.epochs()),
                String.format(Locale.ROOT, "%.2f", r.minutes()), String.valueOf(r.trainImages()),
                String.valueOf(r.valImages()), r.settings());
    }

    /**
     * A finished cell's row, or null when it has no model yet. The validation figures are those
     * of the summary.csv row of the epoch its model kept.
     */
    static Row row(Cell c, List<ExperimentSpec.Arm> arms) throws IOException {
        RunDir run = RunDir.of(c.runDir());
        Path meta = run.model().resolve(Classifier.METADATA);
        if (!Files.isRegularFile(meta) || !Files.isRegularFile(run.summary())) {
            return null;
        }
        ModelMetadata md = Json.read(meta, ModelMetadata.class);
        Integer best = md.provenance().bestEpoch();
        List<String> lines = Files.readAllLines(run.summary());
        List<String> header = List.of(lines.get(0).split(","));
        String[] kept = null;
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",", -1);
            if (best != null && Integer.parseInt(f[header.indexOf("epoch")]) == best) {
                kept = f;
            }
        }
        Double minutes = ExperimentData.trainingMinutes(run);
        if (kept == null || minutes == null) {
            return null;
        }
        return new Row(c.arm(), c.subset(), c.splitSeed(), c.seed(), number(kept[header.indexOf("val_macro_f1")]),
                number(kept[header.indexOf("val_acc")]), best, md.training().epochs(), minutes,
                md.provenance().trainImages(), md.provenance().validationImages(),
                settings(arms.stream().filter(a -> a.name().equals(c.arm())).findFirst().orElse(null)));
    }

    private static double number(String s) {
        return s.isEmpty() ? Double.NaN : Double.parseDouble(s);
    }

    /** The arm's own settings ("key: value", in the file's field order), or "defaults". */
    static String settings(ExperimentSpec.Arm arm) {
        if (arm == null) {
            return "";
        }
        ObjectNode node = Json.MAPPER.valueToTree(arm);
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) node::fields) {
            if (e.getValue().isNull() || List.of("name", "subsets", "chosenOn").contains(e.getKey())) {
                continue;
            }
            parts.add(e.getKey() + ": " + (e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString()));
        }
        return parts.isEmpty() ? "defaults" : String.join(", ", parts);
    }
}
