package org.wbctransfer.experiment;

import java.util.ArrayList;
import java.util.List;
import org.wbctransfer.util.Html;

/**
 * A simple table rendered both as Markdown and as HTML, so results.md and report.html cannot drift
 * apart. Cells are strings or {@link Link}s; the first {@code textColumns} columns and columns of
 * links are left-aligned, the rest are numbers aligned right.
 */
record Table(List<String> header, int textColumns, List<List<Object>> rows) {

    record Link(String text, String href) {}

    Table {
        header = List.copyOf(header);
        rows = List.copyOf(rows);
    }

    static Builder builder(List<String> header, int textColumns) {
        return new Builder(header, textColumns);
    }

    static final class Builder {
        private final List<String> header;
        private final int textColumns;
        private final List<List<Object>> rows = new ArrayList<>();

        private Builder(List<String> header, int textColumns) {
            this.header = header;
            this.textColumns = textColumns;
        }

        Builder row(List<?> cells) {
            rows.add(new ArrayList<>(cells));
            return this;
        }

        Table build() {
            return new Table(header, textColumns, rows);
        }
    }

    /** Label columns, and any column of links (paths read badly right-aligned). */
    private boolean isText(int column) {
        return column < textColumns
                || rows.stream().anyMatch(r -> column < r.size() && r.get(column) instanceof Link);
    }

    boolean isEmpty() {
        return rows.isEmpty();
    }

    String markdown() {
        StringBuilder sb = new StringBuilder("|");
        for (String h : header) {
            sb.append(' ').append(md(h)).append(" |");
        }
        sb.append("\n|");
        for (int i = 0; i < header.size(); i++) {
            sb.append(isText(i) ? " --- |" : " ---: |");
        }
        sb.append('\n');
        for (List<Object> row : rows) {
            sb.append('|');
            for (Object cell : row) {
                String text = cell instanceof Link l
                        ? "[" + md(l.text()) + "](" + l.href().replace(")", "%29").replace(" ", "%20") + ")"
                        : md(String.valueOf(cell));
                sb.append(' ').append(text).append(" |");
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    String html() {
        // Wide tables (the runs table with one F1 column per class) scroll inside their own box
        // instead of widening the whole page past the window.
        StringBuilder sb = new StringBuilder("<div class=\"wide\"><table>\n<thead><tr>");
        for (int i = 0; i < header.size(); i++) {
            sb.append(isText(i) ? "<th>" : "<th class=\"num\">").append(Html.escape(header.get(i))).append("</th>");
        }
        sb.append("</tr></thead>\n<tbody>\n");
        for (List<Object> row : rows) {
            sb.append("<tr>");
            for (int i = 0; i < row.size(); i++) {
                Object cell = row.get(i);
                sb.append(isText(i) ? "<td>" : "<td class=\"num\">");
                if (cell instanceof Link l) {
                    sb.append("<a href=\"").append(Html.escape(l.href())).append("\">")
                            .append(Html.escape(l.text())).append("</a>");
                } else {
                    sb.append(Html.escape(String.valueOf(cell)));
                }
                sb.append("</td>");
            }
            sb.append("</tr>\n");
        }
        return sb.append("</tbody>\n</table></div>\n").toString();
    }

    /** A pipe would end the Markdown cell early and a newline the whole row. */
    static String md(String s) {
        return s.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ");
    }
}
