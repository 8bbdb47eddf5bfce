package org.wbctransfer.experiment;

import static org.wbctransfer.experiment.ReportTables.*;

import java.nio.file.Path;
import java.util.List;
import org.wbctransfer.experiment.ExperimentData.Missing;

/** results.md. */
final class MarkdownReport {

    private MarkdownReport() {}

    static final String UNSURE_NOTE = "Each run's test split: expected calibration error and selective classification"
            + " (answering the most confident images first), after the softmax temperature where `wbc calibrate` fitted"
            + " one on the validation carve-out (figures from the run's saved test predictions), else as evaluated.";

    static String markdown(ExperimentData d, String title, String generated, Path outDir, List<Figure> plots,
                                   List<Figure> confusions, List<String> warnings) {
        StringBuilder sb = new StringBuilder();
        sb.append("# ").append(Table.md(title)).append("\n\n");
        sb.append("Generated ").append(generated).append(" from ").append(d.runs.size()).append(" finished run(s); ")
                .append(d.missing.size()).append(" planned cell(s) missing.\n\n");
        sb.append("## Results on the test split\n\n");
        sb.append("Mean \u00B1 sample standard deviation over runs (number of runs, or split seeds \u00D7 training seeds "
                + "when several splits are pooled; \"n of m\" when runs are missing). Accuracy in percent.")
                .append(splitNote(d)).append("\n\n");
        sb.append(resultsTable(d, d.groups).markdown()).append('\n');
        List<Comparison> vs = againstBaseline(d);
        if (!vs.isEmpty()) {
            sb.append("## Against the baseline\n\n").append(AGAINST_BASELINE_NOTE).append("\n\n");
            sb.append(againstBaselineTable(d, vs).markdown()).append('\n');
        }
        if (!d.developmentGroups.isEmpty()) {
            sb.append("## Development split (split seed ").append(ExperimentSpec.DEVELOPMENT_SPLIT).append(")\n\n")
                    .append(DEVELOPMENT_NOTE).append("\n\n");
            sb.append(resultsTable(d, d.developmentGroups).markdown()).append('\n');
        }
        if (d.allGroups().stream().anyMatch(g -> g.splits().size() > 1) || !d.developmentGroups.isEmpty()) {
            sb.append("## Per split seed\n\nMean over each split's training seeds.\n\n");
            sb.append(perSplitTable(d).markdown()).append('\n');
        }
        sb.append("## Published results\n\n").append(PublishedResults.SOURCE)
                .append(". Shown with the precision the study printed.\n\n");
        sb.append(publishedTable().markdown()).append('\n');
        sb.append("## Difference to the published results (ours \u2212 published)\n\n");
        Table diff = differenceTable(d);
        if (diff.isEmpty()) {
            sb.append("No arm matches a published arm (baseline \u2194 Baseline, enhanced* \u2194 Enhanced).\n\n");
        } else {
            sb.append("Accuracy in percentage points; published F1 scores have two decimals, so F1 differences "
                    + "carry up to \u00B10.005 of rounding.\n\n");
            sb.append(diff.markdown()).append('\n');
        }
        sb.append("## Per-class F1 on the test split\n\n");
        Table perClass = perClassTable(d);
        sb.append(perClass.isEmpty() ? "No finished runs.\n\n" : "Mean \u00B1 sample std over seeds.\n\n" + perClass.markdown() + "\n");
        if (!d.outsideSets.isEmpty()) {
            sb.append("## Outside test sets\n\n");
            for (String set : d.outsideSets) {
                sb.append("### ").append(Table.md(set)).append(" (eval-").append(Table.md(set)).append(")\n\n");
                sb.append(outsideTable(d, set).markdown()).append('\n');
            }
        }
        Table unsure = unsureTable(d);
        if (!unsure.isEmpty()) {
            sb.append("## When the model is unsure\n\n").append(UNSURE_NOTE).append("\n\n").append(unsure.markdown()).append('\n');
        }
        sb.append("## Plots\n\n");
        for (Figure p : plots) {
            sb.append("![").append(Table.md(p.caption())).append("](").append(uriPath(p.relPath())).append(")\n\n");
        }
        if (!confusions.isEmpty()) {
            sb.append("Confusion matrices:\n\n");
            for (Figure c : confusions) {
                sb.append("- [").append(Table.md(c.caption())).append("](").append(uriPath(c.relPath())).append(")\n");
            }
            sb.append('\n');
        }
        sb.append("## Runs\n\n");
        Table runs = runsTable(d, outDir);
        sb.append(runs.isEmpty() ? "No finished runs.\n\n" : runs.markdown() + "\n");
        sb.append("## Missing cells\n\n");
        sb.append(d.missing.isEmpty() ? "None: every planned cell has test metrics.\n" : missingTable(d, outDir).markdown());
        if (!warnings.isEmpty()) {
            sb.append("\n## Warnings\n\n");
            warnings.forEach(w -> sb.append("- ").append(Table.md(w)).append('\n'));
        }
        return sb.toString();
    }

}
