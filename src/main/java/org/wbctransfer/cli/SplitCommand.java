package org.wbctransfer.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.wbctransfer.data.SplitData;
import org.wbctransfer.data.SplitManifest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code wbc split}: writes the study's seeded, stratified, nested split manifest. */
@Command(name = "split", mixinStandardHelpOptions = true,
        description = "Split a class-per-folder dataset into the study's test set and nested WBC_100/50/10/1 training"
                + " subsets (test = floor(17%%) per class; subsets = floor(p%%) of each class's training images)."
                + " Every image is decoded first (and cached at --image-size for training): files that cannot be"
                + " used are left out of the split, warned about and listed in the manifest's header.")
public final class SplitCommand implements Callable<Integer> {

    @Option(names = "--data", defaultValue = Defaults.DATA, description = "Dataset root (<root>/<Class>/<image>). Default: ${DEFAULT-VALUE}")
    Path data;

    @Option(names = {"-o", "--out"}, required = true, description = "Manifest CSV to write")
    Path out;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the draw. Default: ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--image-size", defaultValue = "64", description = "Size the images are decoded and cached at"
            + " (use the training's, so that training reuses the cache). Default: ${DEFAULT-VALUE}")
    int imageSize;

    @Option(names = "--cache-dir", defaultValue = Defaults.CACHE, description = "Decoded-image cache. Default: ${DEFAULT-VALUE}")
    Path cacheDir;

    @Mixin
    StrictOption strictOption;

    @Override
    public Integer call() throws Exception {
        if (imageSize < 1 || imageSize > 4096) {
            throw new org.wbctransfer.util.UserException("--image-size must be 1..4096, got " + imageSize);
        }
        SplitManifest m = SplitData.draw(data, seed, imageSize, cacheDir, strictOption.strict, StrictOption::warn);
        m.write(out);
        System.out.println(summary(m));
        if (!m.skipped().isEmpty()) {
            System.out.println(m.skipped().size() + " file(s) skipped (listed in the manifest's header)");
        }
        System.out.println("wrote " + out);
        return 0;
    }

    static String summary(SplitManifest m) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%-12s %7s", "class", "test"));
        for (String s : SplitManifest.SUBSETS.keySet()) {
            sb.append(String.format(" %8s", s));
        }
        sb.append('\n');
        int[] test = m.countPerClass(m.test());
        int[][] sub = new int[SplitManifest.SUBSETS.size()][];
        int j = 0;
        for (String s : SplitManifest.SUBSETS.keySet()) {
            sub[j++] = m.countPerClass(m.train(s));
        }
        for (int c = 0; c < m.classNames().size(); c++) {
            sb.append(String.format("%-12s %7d", m.classNames().get(c), test[c]));
            for (int[] s : sub) {
                sb.append(String.format(" %8d", s[c]));
            }
            sb.append('\n');
        }
        sb.append(String.format("%-12s %7d", "total", java.util.Arrays.stream(test).sum()));
        for (int[] s : sub) {
            sb.append(String.format(" %8d", java.util.Arrays.stream(s).sum()));
        }
        return sb.toString();
    }
}
