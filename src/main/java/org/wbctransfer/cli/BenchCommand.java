package org.wbctransfer.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.wbctransfer.bench.Throughput;
import org.wbctransfer.data.ImageCache;
import org.wbctransfer.data.ImageFolder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code wbc bench}: throughput of the data pipeline, training steps and inference. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure images/s of the data pipeline (cache hit + augmentation + batching), training steps"
                + " (forward, backward, AdamW) and inference, per image size, and the peak RSS.")
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--data", defaultValue = Defaults.DATA, description = "Images for the pipeline. Default: ${DEFAULT-VALUE}")
    Path data;

    @Option(names = "--sizes", split = ",", defaultValue = "64,96,128", description = "Image sizes. Default: ${DEFAULT-VALUE}")
    int[] sizes;

    @Option(names = "--batch", defaultValue = "64", description = "Batch size. Default: ${DEFAULT-VALUE}")
    int batch;

    @Option(names = "--steps", defaultValue = "20", description = "Timed steps per measurement. Default: ${DEFAULT-VALUE}")
    int steps;

    @Option(names = "--pipeline-images", defaultValue = "4096", description = "Images per pipeline epoch. Default: ${DEFAULT-VALUE}")
    int pipelineImages;

    @Option(names = "--cache-dir", defaultValue = Defaults.CACHE, description = "Decoded-image cache. Default: ${DEFAULT-VALUE}")
    Path cacheDir;

    @Override
    public Integer call() throws Exception {
        ImageFolder folder = ImageFolder.scan(data);
        List<String> paths = new ArrayList<>();
        folder.items().forEach(i -> paths.add(i.relativePath()));
        System.out.printf("%-6s %6s %14s %14s %14s %12s%n", "size", "batch", "pipeline img/s", "train img/s",
                "infer img/s", "pipe/train");
        for (int size : sizes) {
            ImageCache cache = ImageCache.open(data, paths, size, cacheDir);
            double pipe = Throughput.pipeline(cache, batch, pipelineImages);
            double[] m = Throughput.model(size, batch, steps);
            System.out.printf("%-6d %6d %14.0f %14.1f %14.1f %11.1fx%n", size, batch, pipe, m[0], m[1], pipe / m[0]);
        }
        System.out.printf("threads %s, peak RSS %.0f MiB%n", System.getProperty("ai.djl.pytorch.num_threads", "default"),
                Throughput.peakRssMiB());
        return 0;
    }
}
