package org.wbctransfer.bench;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.wbctransfer.util.Json;

/**
 * Our bench figures next to the PyTorch peer's (bench/peer.py), with ratios ours / PyTorch, as a
 * text table, Markdown and JSON. Parsing and formatting only: no timing happens here.
 */
public final class SideBySide {

    /** Pipeline / train ratio wanted at {@link #TARGET_SIZE} px: the model must never wait for data. */
    public static final double PIPELINE_TARGET = 5.0;
    public static final int TARGET_SIZE = 96;

    /**
     * Our figures at one size: inference on libtorch and on ONNX Runtime (NaN when not run); peak
     * RSS is the process's peak so far after this size (MiB).
     */
    public record Ours(int size, int batch, double pipeline, double train, double infer, double inferOnnx,
            double peakRssMiB) {}

    /** One size of the peer's JSON; absent figures are null. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record PeerSize(int size, Integer batch,
            @JsonProperty("pipeline_img_s") Double pipeline,
            @JsonProperty("train_img_s") Double train,
            @JsonProperty("infer_img_s") Double infer,
            @JsonProperty("peak_rss_mib") Double peakRssMiB,
            @JsonProperty("pipeline_source") String pipelineSource) {}

    /** The peer's whole JSON object. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Peer(String peer, String torch, String torchvision, Integer threads,
            @JsonProperty("interop_threads") Integer interopThreads, Integer batch, Integer steps, Integer warmup,
            String optimizer, @JsonProperty("channels_last") Boolean channelsLast,
            @JsonProperty("bf16_infer") Boolean bf16Infer, @JsonProperty("autocast_bf16") Boolean autocastBf16,
            @JsonProperty("fold_bn") Boolean foldBn, List<PeerSize> sizes, @JsonProperty("peak_rss_mib") Double peakRssMiB) {

        public PeerSize at(int size) {
            if (sizes != null) {
                for (PeerSize s : sizes) {
                    if (s.size() == size) {
                        return s;
                    }
                }
            }
            return null;
        }
    }

    /** One metric at one size: ours, the peer's (or null), and ours / peer's (or null). */
    public record Cell(String metric, double ours, Double peer, Double ratio) {}

    private final List<Ours> ours;
    private final Peer peer;
    private final Map<String, Object> settings;

    /**
     * @param peer the peer's figures, or null to show ours only
     * @param settings how the run was made (threads, steps, levers), recorded in JSON and Markdown
     */
    public SideBySide(List<Ours> ours, Peer peer, Map<String, Object> settings) {
        this.ours = List.copyOf(ours);
        this.peer = peer;
        this.settings = new LinkedHashMap<>(settings);
    }

    /** Parses the peer's stdout: one JSON object (anything printed before the first '{' is ignored). */
    public static Peer parsePeer(String stdout) {
        int start = stdout.indexOf('{');
        if (start < 0) {
            throw new IllegalArgumentException("no JSON object in the peer's output");
        }
        try {
            Peer p = Json.MAPPER.readValue(stdout.substring(start), Peer.class);
            if (p.sizes() == null) {
                throw new IllegalArgumentException("the peer's JSON has no \"sizes\"");
            }
            return p;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the peer's output is not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    public Peer peer() {
        return peer;
    }

    static Double ratio(double ours, Double peer) {
        if (peer == null || !(peer > 0) || !Double.isFinite(ours) || ours < 0) {
            return null;
        }
        return ours / peer;
    }

    /** The compared metrics at one size, in display order. */
    public List<Cell> cells(Ours o) {
        PeerSize p = peer == null ? null : peer.at(o.size());
        List<Cell> c = new ArrayList<>();
        Double pp = p == null ? null : p.pipeline();
        Double pt = p == null ? null : p.train();
        Double pi = p == null ? null : p.infer();
        Double pr = p == null ? null : p.peakRssMiB();
        c.add(new Cell("pipeline img/s", o.pipeline(), pp, ratio(o.pipeline(), pp)));
        c.add(new Cell("train img/s", o.train(), pt, ratio(o.train(), pt)));
        c.add(new Cell("infer img/s", o.infer(), pi, ratio(o.infer(), pi)));
        // Against the same peer figure: the engine predict runs by default on a bundle with model.onnx.
        c.add(new Cell("infer ONNX img/s", o.inferOnnx(), pi, ratio(o.inferOnnx(), pi)));
        Double peerPipeTrain = pp != null && pt != null && pt > 0 ? pp / pt : null;
        c.add(new Cell("pipeline/train", o.pipeline() / o.train(), peerPipeTrain, null));
        c.add(new Cell("peak RSS MiB", o.peakRssMiB(), pr, o.peakRssMiB() > 0 ? ratio(o.peakRssMiB(), pr) : null));
        return c;
    }

    private static String num(String metric, double v) {
        if (!Double.isFinite(v)) {
            return "-";
        }
        if (metric.equals("pipeline/train")) {
            return String.format(Locale.ROOT, "%.1fx", v);
        }
        return v >= 1000 ? String.format(Locale.ROOT, "%,.0f", v) : String.format(Locale.ROOT, "%.1f", v);
    }

    private static String num(String metric, Double v) {
        return v == null ? "-" : num(metric, v.doubleValue());
    }

    private static String ratioText(Double r) {
        return r == null ? "-" : String.format(Locale.ROOT, "%.2fx", r);
    }

    /** The pipeline/train verdict at {@link #TARGET_SIZE} px, or null when that size or the pipeline was not run. */
    public String targetLine() {
        for (Ours o : ours) {
            if (o.size() == TARGET_SIZE && Double.isFinite(o.pipeline())) {
                double r = o.pipeline() / o.train();
                return String.format(Locale.ROOT, "pipeline/train at %d px: %.1fx (target >= %.0fx: %s)",
                        TARGET_SIZE, r, PIPELINE_TARGET, r >= PIPELINE_TARGET ? "met" : "NOT met");
            }
        }
        return null;
    }

    private String peerName() {
        return peer == null ? "PyTorch" : "PyTorch " + peer.torch();
    }

    /** Plain-text table for the terminal. */
    public String text() {
        StringBuilder sb = new StringBuilder();
        String head = String.format(Locale.ROOT, "%-5s %6s  %-15s %12s %18s %14s%n", "size", "batch", "metric", "ours",
                peerName(), "ours/PyTorch");
        sb.append(head);
        for (Ours o : ours) {
            for (Cell c : cells(o)) {
                sb.append(String.format(Locale.ROOT, "%-5d %6d  %-15s %12s %18s %14s%n", o.size(), o.batch(), c.metric(),
                        num(c.metric(), c.ours()), num(c.metric(), c.peer()), ratioText(c.ratio())));
            }
        }
        String t = targetLine();
        if (t != null) {
            sb.append(t).append('\n');
        }
        return sb.toString();
    }

    /** Markdown: settings, then one row per size with ours, PyTorch and the ratio of each metric. */
    public String markdown() {
        StringBuilder sb = new StringBuilder();
        sb.append("# wbc bench: ours vs ").append(peerName()).append("\n\n");
        for (Map.Entry<String, Object> e : settings.entrySet()) {
            sb.append("- ").append(e.getKey()).append(": ").append(e.getValue()).append('\n');
        }
        if (peer != null) {
            sb.append("- peer: torch ").append(peer.torch()).append(", torchvision ").append(peer.torchvision())
                    .append(", threads ").append(peer.threads()).append(", optimizer ").append(peer.optimizer())
                    .append(", channels_last ").append(peer.channelsLast()).append(", bf16_infer ")
                    .append(peer.bf16Infer()).append(", autocast_bf16 ").append(peer.autocastBf16())
                    .append(", fold_bn ").append(Boolean.TRUE.equals(peer.foldBn())).append('\n');
        }
        sb.append('\n');
        sb.append("| size | batch | metric | ours | PyTorch | ours / PyTorch |\n");
        sb.append("|---:|---:|---|---:|---:|---:|\n");
        for (Ours o : ours) {
            for (Cell c : cells(o)) {
                sb.append("| ").append(o.size()).append(" | ").append(o.batch()).append(" | ").append(c.metric())
                        .append(" | ").append(num(c.metric(), c.ours())).append(" | ").append(num(c.metric(), c.peer()))
                        .append(" | ").append(ratioText(c.ratio())).append(" |\n");
            }
        }
        String t = targetLine();
        if (t != null) {
            sb.append('\n').append(t).append('\n');
        }
        return sb.toString();
    }

    /** JSON document: settings, per size ours / peer / ratio, and the peer's own JSON. */
    public Map<String, Object> json() {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("settings", settings);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Ours o : ours) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("size", o.size());
            row.put("batch", o.batch());
            for (Cell c : cells(o)) {
                String key = switch (c.metric()) {
                    case "pipeline img/s" -> "pipeline_img_s";
                    case "train img/s" -> "train_img_s";
                    case "infer img/s" -> "infer_img_s";
                    case "infer ONNX img/s" -> "infer_onnx_img_s";
                    case "pipeline/train" -> "pipeline_over_train";
                    default -> "peak_rss_mib";
                };
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("ours", Double.isFinite(c.ours()) ? c.ours() : null);
                m.put("pytorch", c.peer());
                if (!c.metric().equals("pipeline/train")) {
                    m.put("ratio", c.ratio());
                }
                row.put(key, m);
            }
            rows.add(row);
        }
        doc.put("sizes", rows);
        doc.put("target", targetLine());
        doc.put("peer", peer);
        return doc;
    }
}
