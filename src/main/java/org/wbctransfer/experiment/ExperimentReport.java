package org.wbctransfer.experiment;

import static org.wbctransfer.experiment.ReportCsv.*;
import static org.wbctransfer.experiment.ReportJson.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.evaluation.ConfusionMatrixPlot;
import org.wbctransfer.experiment.ExperimentData.Run;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.Png;

/**
 * Collects finished experiment cells into tables, plots and a self-contained HTML page, and sets
 * them against the published study. Every file is written atomically, so a report regenerated
 * while training continues is never seen half-written; cells without test metrics are reported as
 * missing instead of being left out of the averages unnoticed.
 *
 * <p>results.json holds every run's test metrics and everything else results.md shows, with run
 * directories relative to {@code outDir}: {@link #markdownFromJson} rebuilds results.md from it
 * alone, so a committed report can be checked against its committed JSON (and the JSON against
 * the runs' own metrics.json).
 *
 * <p>Files written under {@code outDir}: {@value #RESULTS_CSV}, {@value #RUNS_CSV}, {@value #SPLITS_CSV},
 * {@value #RESULTS_JSON}, {@value #RESULTS_MD}, {@value #REPORT_HTML}, {@code plots/macro_f1.png},
 * {@code plots/accuracy.png}, {@code plots/learning_curves.png} (when any run has a summary.csv) and
 * {@code plots/confusion/<arm>_<subset>_split<split seed>_seed<seed>.png}.
 */
public final class ExperimentReport {

    public static final String RESULTS_CSV = "results.csv";
    public static final String RUNS_CSV = "results-runs.csv";
    public static final String SPLITS_CSV = "results-splits.csv";
    public static final String RESULTS_JSON = "results.json";
    public static final String RESULTS_MD = "results.md";
    public static final String REPORT_HTML = "report.html";
    public static final String PLOTS = "plots";

    private ExperimentReport() {}

    /** @param armNotes arm name to its note (see {@link ExperimentSpec#armNotes()}), shown in every row of that arm */
    public static void write(Path outDir, String title, List<Cell> cells, Map<String, String> armNotes) throws IOException {
        Objects.requireNonNull(outDir, "outDir");
        Objects.requireNonNull(cells, "cells");
        String heading = (title == null || title.isBlank()) ? "WBC transfer experiment" : title.strip();
        ExperimentData d = ExperimentData.load(cells, armNotes);
        Files.createDirectories(outDir);
        List<String> warnings = new ArrayList<>(d.warnings);
        String generated = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();

        AtomicFiles.writeString(outDir.resolve(RESULTS_CSV), resultsCsv(d));
        AtomicFiles.writeString(outDir.resolve(RUNS_CSV), runsCsv(d, outDir));
        AtomicFiles.writeString(outDir.resolve(SPLITS_CSV), splitsCsv(d));

        List<Figure> plots = new ArrayList<>();
        plots.add(save(outDir, PLOTS + "/macro_f1.png", "Macro F1 per label budget",
                ReportPlots.metricBars(d, Metric.MACRO_F1)));
        plots.add(save(outDir, PLOTS + "/accuracy.png", "Test accuracy per label budget",
                ReportPlots.metricBars(d, Metric.ACCURACY)));
        Optional<byte[]> curves = ReportPlots.learningCurves(d, warnings);
        if (curves.isPresent()) {
            plots.add(save(outDir, PLOTS + "/learning_curves.png",
                    "Training loss per epoch (lowest finished seed of each arm)", curves.get()));
        }
        List<Figure> confusions = new ArrayList<>();
        for (Run run : d.runs) {
            confusions.add(save(outDir, confusionPath(run.cell()), run.cell().label(), confusionPng(run)));
        }

        ReportJson.Results json = resultsJson(d, heading, generated, warnings, outDir, plots, confusions);
        Json.write(outDir.resolve(RESULTS_JSON), json);
        // Markdown from the JSON just written, the way the consistency check rebuilds it.
        AtomicFiles.writeString(outDir.resolve(RESULTS_MD), markdownFromJson(Json.MAPPER.valueToTree(json), outDir));
        AtomicFiles.writeString(outDir.resolve(REPORT_HTML), HtmlReport.html(d, heading, generated, outDir, plots, confusions, warnings));
    }

    /** results.md as {@link #write} makes it, rebuilt from a results.json alone (run directories relative to it). */
    public static String markdownFromJson(Path resultsJson) throws IOException {
        JsonNode root = Json.MAPPER.readTree(resultsJson.toFile());
        return markdownFromJson(root, resultsJson.toAbsolutePath().getParent());
    }

    private static String markdownFromJson(JsonNode root, Path outDir) throws IOException {
        ReportJson.Read r = ReportJson.read(root, outDir);
        return MarkdownReport.markdown(r.data(), r.title(), r.generated(), outDir, r.plots(), r.confusions(), r.warnings());
    }

    private static Figure save(Path outDir, String relPath, String caption, byte[] png) throws IOException {
        AtomicFiles.writeBytes(outDir.resolve(relPath), png);
        return new Figure(relPath, caption, png);
    }

    static String confusionPath(Cell c) {
        return PLOTS + "/confusion/" + fileSafe(c.arm()) + "_" + fileSafe(c.subset()) + "_split" + c.splitSeed()
                + "_seed" + c.seed() + ".png";
    }

    /** The evaluation's own picture when present; otherwise drawn again from the matrix in metrics.json. */
    private static byte[] confusionPng(Run run) throws IOException {
        Path png = RunDir.of(run.cell().runDir()).testEval().resolve(RunDir.CONFUSION);
        if (Files.isRegularFile(png)) {
            return Files.readAllBytes(png);
        }
        return Png.bytes(ConfusionMatrixPlot.render(run.test().confusionMatrix(), run.cell().label()));
    }

    private static String fileSafe(String s) {
        return s.replaceAll("[^A-Za-z0-9._-]", "_");
    }

}
