package org.wbctransfer.experiment;

import static org.wbctransfer.experiment.ReportTables.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.wbctransfer.experiment.ExperimentData.Missing;

/** report.html: self-contained, pictures embedded. */
final class HtmlReport {

    private HtmlReport() {}

    static final String CSS = """
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1200px;
            padding:0 1em;color:#222;line-height:1.4}
            h1{border-bottom:2px solid #1f77b4;padding-bottom:.2em}
            h2{margin-top:2em;border-bottom:1px solid #ddd}
            .wide{max-width:100%;overflow-x:auto}
            table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.92em}
            th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;white-space:nowrap}
            th{background:#f0f4f8}
            tr:nth-child(even) td{background:#fafafa}
            .num{text-align:right;font-variant-numeric:tabular-nums}
            .note{color:#555;font-size:.92em}
            .missing{color:#b00020}
            figure{margin:1em 0}
            figure img{max-width:100%;border:1px solid #ddd}
            .grid{display:flex;flex-wrap:wrap;gap:1em}
            .grid figure{width:360px;margin:0}
            .grid img{width:100%}
            figcaption{font-size:.9em;color:#444}
            """;

    static String html(ExperimentData d, String title, String generated, Path outDir, List<Figure> plots,
                               List<Figure> confusions, List<String> warnings) {
        StringBuilder sb = new StringBuilder();
        sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
                .append(esc(title)).append("</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
        sb.append("<h1>").append(esc(title)).append("</h1>\n");
        sb.append("<p class=\"note\">Generated ").append(esc(generated)).append(" from ").append(d.runs.size())
                .append(" finished run(s); ");
        sb.append(d.missing.isEmpty() ? "no planned cell is missing." :
                "<span class=\"missing\">" + d.missing.size() + " planned cell(s) missing</span> (listed at the end).");
        sb.append("</p>\n");

        sb.append("<h2>Results on the test split</h2>\n<p class=\"note\">Mean \u00B1 sample standard deviation over "
                + "runs (number of runs, or split seeds \u00D7 training seeds when several splits are pooled; &quot;n of "
                + "m&quot; when runs are missing). Accuracy in percent.").append(esc(splitNote(d))).append("</p>\n");
        sb.append(resultsTable(d, d.groups).html());
        List<Comparison> vs = againstBaseline(d);
        if (!vs.isEmpty()) {
            sb.append("<h2>Against the baseline</h2>\n<p class=\"note\">").append(esc(AGAINST_BASELINE_NOTE))
                    .append("</p>\n").append(againstBaselineTable(d, vs).html());
        }
        if (!d.developmentGroups.isEmpty()) {
            sb.append("<h2>Development split (split seed ").append(ExperimentSpec.DEVELOPMENT_SPLIT)
                    .append(")</h2>\n<p class=\"note\">").append(esc(DEVELOPMENT_NOTE)).append("</p>\n")
                    .append(resultsTable(d, d.developmentGroups).html());
        }
        if (d.allGroups().stream().anyMatch(g -> g.splits().size() > 1) || !d.developmentGroups.isEmpty()) {
            sb.append("<h2>Per split seed</h2>\n").append(perSplitTable(d).html());
        }
        sb.append("<h2>Published results</h2>\n<p class=\"note\">").append(esc(PublishedResults.SOURCE))
                .append(". Shown with the precision the study printed.</p>\n");
        sb.append(publishedTable().html());
        sb.append("<h2>Difference to the published results (ours \u2212 published)</h2>\n");
        Table diff = differenceTable(d);
        if (diff.isEmpty()) {
            sb.append("<p>No arm matches a published arm (baseline \u2194 Baseline, enhanced* \u2194 Enhanced).</p>\n");
        } else {
            sb.append("<p class=\"note\">Accuracy in percentage points; published F1 scores have two decimals, so F1 "
                    + "differences carry up to \u00B10.005 of rounding.</p>\n").append(diff.html());
        }

        sb.append("<h2>Plots</h2>\n");
        for (Figure p : plots) {
            sb.append(figure(p));
        }

        sb.append("<h2>Per-class F1 on the test split</h2>\n");
        Table perClass = perClassTable(d);
        sb.append(perClass.isEmpty() ? "<p>No finished runs.</p>\n"
                : "<p class=\"note\">Mean \u00B1 sample std over seeds.</p>\n" + perClass.html());

        if (!d.outsideSets.isEmpty()) {
            sb.append("<h2>Outside test sets</h2>\n");
            for (String set : d.outsideSets) {
                sb.append("<h3>").append(esc(set)).append(" <span class=\"note\">(eval-").append(esc(set))
                        .append(")</span></h3>\n").append(outsideTable(d, set).html());
            }
        }

        if (!confusions.isEmpty()) {
            sb.append("<h2>Confusion matrices</h2>\n");
            // One collapsible block per arm keeps dozens of matrices from burying the tables.
            for (String arm : d.arms) {
                List<Figure> mine = new ArrayList<>();
                for (int i = 0; i < d.runs.size(); i++) {
                    if (d.runs.get(i).cell().arm().equals(arm)) {
                        mine.add(confusions.get(i));
                    }
                }
                if (mine.isEmpty()) {
                    continue;
                }
                sb.append("<details><summary>").append(esc(arm)).append(" (").append(mine.size())
                        .append(" runs)</summary>\n<div class=\"grid\">\n");
                mine.forEach(f -> sb.append(figure(f)));
                sb.append("</div>\n</details>\n");
            }
        }

        sb.append("<h2>Runs</h2>\n");
        Table runs = runsTable(d, outDir);
        sb.append(runs.isEmpty() ? "<p>No finished runs.</p>\n" : runs.html());
        sb.append("<h2>Missing cells</h2>\n");
        sb.append(d.missing.isEmpty() ? "<p>None: every planned cell has test metrics.</p>\n"
                : "<div class=\"missing\">" + missingTable(d, outDir).html() + "</div>\n");
        if (!warnings.isEmpty()) {
            sb.append("<h2>Warnings</h2>\n<ul>\n");
            warnings.forEach(w -> sb.append("<li>").append(esc(w)).append("</li>\n"));
            sb.append("</ul>\n");
        }
        sb.append("</body>\n</html>\n");
        return sb.toString();
    }

    static String figure(Figure f) {
        return "<figure><img alt=\"" + esc(f.caption()) + "\" src=\"data:image/png;base64,"
                + Base64.getEncoder().encodeToString(f.png()) + "\"><figcaption>" + esc(f.caption())
                + "</figcaption></figure>\n";
    }

    static String esc(String s) {
        return org.wbctransfer.util.Html.escape(s);
    }
}
