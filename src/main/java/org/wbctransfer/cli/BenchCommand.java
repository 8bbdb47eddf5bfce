package org.wbctransfer.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.wbctransfer.bench.PeerRunner;
import org.wbctransfer.bench.SideBySide;
import org.wbctransfer.bench.Throughput;
import org.wbctransfer.config.Defaults;
import org.wbctransfer.data.ImageCache;
import org.wbctransfer.data.ImageFolder;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code wbc bench}: throughput of the data pipeline, training steps and inference, next to PyTorch's. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure images/s of the data pipeline (cache hit + augmentation + batching), training steps"
                + " (forward, backward, AdamW) and inference, per image size, and the peak RSS.",
                "Then, unless --no-peer, run the PyTorch peer (bench/peer.py with /usr/bin/python3; install it with"
                + " bench/install-peer.sh) on the same sizes, batch, threads and steps, and print both side by side"
                + " with the ratios ours / PyTorch."})
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--data", defaultValue = Defaults.DATA, description = "Images for the pipeline. Default: ${DEFAULT-VALUE}")
    Path data;

    @Option(names = "--sizes", split = ",", defaultValue = "64,96,128,224", description = "Image sizes. Default: ${DEFAULT-VALUE}")
    int[] sizes;

    @Option(names = "--batch", defaultValue = "64", description = "Batch size. Default: ${DEFAULT-VALUE}")
    int batch;

    @Option(names = "--steps", defaultValue = "20",
            description = "Timed steps per measurement, after max(2, steps/5) warm-up steps. Default: ${DEFAULT-VALUE}")
    int steps;

    @Option(names = "--pipeline-images", defaultValue = "4096", description = "Images per pipeline epoch. Default: ${DEFAULT-VALUE}")
    int pipelineImages;

    @Option(names = "--no-pipeline", description = "Skip the data pipeline (ours and the peer's): no decoded images"
            + " are held, so the peak RSS is that of training and inference alone")
    boolean noPipeline;

    @Mixin
    CacheOption cacheOption;

    @Option(names = "--peer", negatable = true,
            description = "Run the PyTorch peer after ours (--no-peer: skip it). Default: when bench/peer.py and"
                    + " a python with torch and torchvision exist")
    Boolean peer;

    @Option(names = "--peer-script", description = "The peer script. Default: bench/peer.py of the project")
    Path peerScript;

    @Option(names = "--python", description = "Python for the peer. Default: ${DEFAULT-VALUE}")
    Path python = PeerRunner.DEFAULT_PYTHON;

    @Option(names = "--peer-arg", description = "Extra argument for the peer, repeatable (e.g. --peer-arg=--bf16-infer"
            + " for PyTorch's bfloat16 inference)")
    List<String> peerArgs = new ArrayList<>();

    @Option(names = "--channels-last", description = "Lever: channels-last memory format for model and input"
            + " (training and inference; the peer too)")
    boolean channelsLast;

    @Option(names = "--peer-default-format", description = "With --channels-last: the peer keeps PyTorch's default"
            + " memory format (the script a researcher would write), so ours channels-last is compared with that")
    boolean peerDefaultFormat;

    @Option(names = "--fp16-infer", description = "Lever: inference on a float16 copy of the model (slow on CPUs"
            + " without AVX512-FP16; bfloat16 is not possible with DJL 0.36). The peer stays at float32")
    boolean fp16Infer;

    @Option(names = "--no-fold-bn", description = "Inference with the BatchNorm layers run as such (before/after"
            + " figure); by default BatchNorm is folded into the convolutions, as wbc predict, evaluate and serve run."
            + " The peer folds with --peer-arg=--fold-bn")
    boolean noFoldBn;

    @Option(names = "--fold-ab", paramLabel = "ROUNDS", description = "Instead of the table: inference with BatchNorm"
            + " layers and with BatchNorm folded, alternately in one process, ROUNDS times per size (the before/after"
            + " of folding under the same conditions); with --channels-last in that format")
    Integer foldAb;

    @Option(names = "--onnx-ab", paramLabel = "ROUNDS", description = "Instead of the table: inference of the --model"
            + " on libtorch (BatchNorm folded, as predict runs it) and on ONNX Runtime (its ONNX graph for each size),"
            + " alternately in one process, ROUNDS times per size, with medians and the ratio onnx / torch")
    Integer onnxAb;

    @Option(names = "--out", description = "Also write the results: Markdown for *.md, else JSON (atomic write)")
    Path out;

    @Option(names = "--soak-predict", paramLabel = "N", description = "Memory soak instead of the throughput table:"
            + " N predictions with --model over the decoded --data images (cycling through them, from the cache),"
            + " printing 'soak-predict: <done> <seconds>' lines; bench/soak.sh samples the RSS against them")
    Long soakPredict;

    @Option(names = "--model", description = "With --soak-predict or --onnx-ab: the model (bundle or run directory)")
    Path model;

    @Override
    public Integer call() throws Exception {
        if (batch < 2 || steps < 1 || pipelineImages < 2 || sizes.length == 0) {
            throw new UserException("need --batch >= 2, --steps >= 1, --pipeline-images >= 2 and at least one size");
        }
        OutFile.check(out, "bench --out");
        for (int s : sizes) {
            if (s < 32) {
                throw new UserException("image sizes must be at least 32, got " + s);
            }
        }
        if (foldAb != null) {
            return foldAb();
        }
        if (soakPredict != null) {
            return soakPredict();
        }
        if (onnxAb != null) {
            return onnxAb();
        }
        boolean auto = peer == null;
        boolean wantPeer = auto || peer;
        Path script = peerScript != null ? peerScript : PeerRunner.defaultScript();
        if (wantPeer) {
            String why = PeerRunner.unavailable(python, script);
            if (why != null) {
                if (!auto) {
                    throw new UserException("cannot run the PyTorch peer: " + why);
                }
                System.err.println("wbc: PyTorch peer skipped: " + why);
                wantPeer = false;
            }
        }

        int threads = threads();
        Throughput.ModelOptions opts = new Throughput.ModelOptions(channelsLast, fp16Infer, !noFoldBn);
        List<String> paths = new ArrayList<>();
        if (!noPipeline) {
            ImageFolder.scan(data).items().forEach(i -> paths.add(i.relativePath()));
        }
        System.out.printf("%-6s %6s %14s %14s %14s %16s %12s %10s%n", "size", "batch", "pipeline img/s", "train img/s",
                "infer img/s", "ONNX infer img/s", "pipe/train", "RSS MiB");
        List<SideBySide.Ours> ours = new ArrayList<>();
        Map<Integer, Path> cacheFiles = new LinkedHashMap<>();
        for (int size : sizes) {
            double pipe = Double.NaN;
            if (!noPipeline) {
                ImageCache cache = ImageCache.open(data, paths, size, cacheOption.dir);
                cacheFiles.put(size, ImageCache.file(data, paths, size, cacheOption.dir));
                pipe = Throughput.pipeline(cache, batch, pipelineImages);
            }
            double[] m = Throughput.model(size, batch, steps, opts);
            double rss = Throughput.peakRssMiB();
            ours.add(new SideBySide.Ours(size, batch, pipe, m[0], m[1], m[2], rss));
            System.out.printf("%-6d %6d %14s %14.1f %14.1f %16.1f %12s %10.0f%n", size, batch,
                    noPipeline ? "-" : String.format("%.0f", pipe), m[0], m[1], m[2],
                    noPipeline ? "-" : String.format("%.1fx", pipe / m[0]), rss);
        }
        System.out.printf("threads %d, peak RSS %.0f MiB%s%n", threads, Throughput.peakRssMiB(), levers());

        SideBySide.Peer peerResult = null;
        if (wantPeer) {
            List<String> extra = new ArrayList<>(peerArgs);
            if (noPipeline) {
                extra.add("--no-pipeline");
            }
            List<String> cmd = PeerRunner.command(python, script, sizes, batch, steps, Throughput.warmup(steps), threads,
                    pipelineImages, cacheFiles, channelsLast && !peerDefaultFormat, extra);
            System.out.println();
            System.out.println("PyTorch peer: " + String.join(" ", cmd));
            try {
                peerResult = SideBySide.parsePeer(PeerRunner.run(cmd));
            } catch (java.io.IOException | IllegalArgumentException e) {
                if (!auto) {
                    throw new UserException("PyTorch peer failed: " + e.getMessage(), e);
                }
                System.err.println("wbc: PyTorch peer failed, showing ours only: " + e.getMessage());
            }
        }
        SideBySide table = new SideBySide(ours, peerResult, settings(threads));
        if (peerResult != null) {
            System.out.println();
            System.out.print(table.text());
        } else if (table.targetLine() != null) {
            System.out.println(table.targetLine());
        }
        if (out != null) {
            String name = out.getFileName().toString().toLowerCase(Locale.ROOT);
            AtomicFiles.writeString(out, name.endsWith(".md") ? table.markdown()
                    : Json.MAPPER.writeValueAsString(table.json()) + "\n");
            System.err.println("wbc: results written to " + out);
        }
        return 0;
    }

    private int foldAb() {
        if (foldAb < 1) {
            throw new UserException("--fold-ab needs at least 1 round, got " + foldAb);
        }
        System.out.printf(java.util.Locale.ROOT, "inference img/s, batch %d, %d timed steps, %d threads%s: BatchNorm layers"
                + " / folded%n", batch, steps, threads(), channelsLast ? ", channels-last" : "");
        for (int size : sizes) {
            double[][] r = Throughput.foldedVersusLayers(size, batch, steps, foldAb, channelsLast);
            double layers = 0;
            double folded = 0;
            StringBuilder sb = new StringBuilder();
            for (double[] round : r) {
                sb.append(String.format(java.util.Locale.ROOT, "  %.1f / %.1f", round[0], round[1]));
                layers += round[0];
                folded += round[1];
            }
            System.out.printf(java.util.Locale.ROOT, "%d px:%s  mean %.1f / %.1f (%.2fx)%n", size, sb, layers / r.length,
                    folded / r.length, folded / layers);
        }
        return 0;
    }

    private int onnxAb() {
        if (onnxAb < 1 || model == null) {
            throw new UserException("--onnx-ab needs ROUNDS >= 1 and --model");
        }
        int threads = threads();
        try (org.wbctransfer.model.Classifier c = ModelDirs.load(model)) {
            System.out.printf(Locale.ROOT, "inference img/s of %s, batch %d, %d timed steps after %d warm-up, %d intra-op"
                    + " threads: libtorch (BatchNorm folded) / ONNX Runtime, %d alternating rounds%n", model, batch, steps,
                    Throughput.warmup(steps), threads, onnxAb);
            for (int size : sizes) {
                double[][] r = Throughput.onnxVersusTorch(c, size, batch, steps, onnxAb, threads);
                StringBuilder sb = new StringBuilder();
                double[] torch = new double[r.length];
                double[] onnx = new double[r.length];
                for (int i = 0; i < r.length; i++) {
                    sb.append(String.format(Locale.ROOT, "  %.1f / %.1f", r[i][0], r[i][1]));
                    torch[i] = r[i][0];
                    onnx[i] = r[i][1];
                }
                double mt = median(torch);
                double mo = median(onnx);
                System.out.printf(Locale.ROOT, "%d px:%s  median %.1f / %.1f (onnx / torch %.2fx)%n", size, sb, mt, mo,
                        mo / mt);
            }
        }
        return 0;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private int soakPredict() throws java.io.IOException {
        if (soakPredict < 1 || model == null) {
            throw new UserException("--soak-predict needs N >= 1 and --model");
        }
        try (org.wbctransfer.model.Classifier c = ModelDirs.load(model)) {
            int size = c.metadata().imageSize();
            List<String> paths = new ArrayList<>();
            ImageFolder.scan(data).items().forEach(i -> paths.add(i.relativePath()));
            // Sorted as a split manifest lists them, so that the cache file of a split over the
            // same folder is found instead of decoding every image again.
            paths.sort(java.util.Comparator.naturalOrder());
            ImageCache cache = ImageCache.open(data, paths, size, cacheOption.dir);
            double rate = org.wbctransfer.bench.SoakPredict.run(c, cache, soakPredict, batch, System.out);
            System.out.printf(Locale.ROOT, "soak-predict done: %d predictions at %d px, batch %d, %.1f img/s, peak RSS"
                    + " %.0f MiB%n", soakPredict, size, batch, rate, Throughput.peakRssMiB());
        }
        return 0;
    }

    private static int threads() {
        String t = System.getProperty("ai.djl.pytorch.num_threads");
        try {
            return t == null ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(t.trim());
        } catch (NumberFormatException e) {
            return Runtime.getRuntime().availableProcessors();
        }
    }

    private String levers() {
        List<String> l = new ArrayList<>();
        if (channelsLast) {
            l.add("channels-last");
        }
        if (fp16Infer) {
            l.add("fp16 inference");
        }
        if (noFoldBn) {
            l.add("BatchNorm not folded");
        }
        return l.isEmpty() ? "" : ", levers: " + String.join(", ", l);
    }

    private Map<String, Object> settings(int threads) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("sizes", Arrays.stream(sizes).boxed().toList());
        s.put("batch", batch);
        s.put("steps", steps);
        s.put("warmup", Throughput.warmup(steps));
        s.put("threads", threads);
        s.put("interop_threads", 1);
        s.put("pipeline_images", noPipeline ? 0 : pipelineImages);
        s.put("channels_last", channelsLast);
        s.put("fp16_infer", fp16Infer);
        s.put("fold_bn", !fp16Infer && !noFoldBn);
        s.put("malloc", mallocSetting());
        s.put("data", data.toString());
        return s;
    }

    /** Allocator settings in force (LD_PRELOAD, MALLOC_ARENA_MAX), recorded with the results. */
    static String mallocSetting() {
        String preload = System.getenv("LD_PRELOAD");
        String arenas = System.getenv("MALLOC_ARENA_MAX");
        List<String> l = new ArrayList<>();
        if (preload != null && !preload.isBlank()) {
            l.add("LD_PRELOAD=" + preload);
        }
        if (arenas != null && !arenas.isBlank()) {
            l.add("MALLOC_ARENA_MAX=" + arenas);
        }
        return l.isEmpty() ? "glibc default" : String.join(" ", l);
    }
}
