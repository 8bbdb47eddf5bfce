package org.wbctransfer.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.wbctransfer.data.ImageFolder;
import org.wbctransfer.data.SplitManifest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code wbc split}: writes the study's seeded, stratified, nested split manifest. */
@Command(name = "split", mixinStandardHelpOptions = true,
        description = "Split a class-per-folder dataset into the study's test set and nested WBC_100/50/10/1 training"
                + " subsets (test = floor(17%%) per class; subsets = floor(p%%) of each class's training images).")
public final class SplitCommand implements Callable<Integer> {

    @Option(names = "--data", defaultValue = Defaults.DATA, description = "Dataset root (<root>/<Class>/<image>). Default: ${DEFAULT-VALUE}")
    Path data;

    @Option(names = {"-o", "--out"}, required = true, description = "Manifest CSV to write")
    Path out;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the draw. Default: ${DEFAULT-VALUE}")
    long seed;

    @Override
    public Integer call() throws Exception {
        ImageFolder folder = ImageFolder.scan(data);
        folder.warnings().forEach(w -> System.err.println("wbc: warning: " + w));
        SplitManifest m = SplitManifest.create(folder, seed);
        m.write(out);
        System.out.println(summary(m));
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
