package org.wbctransfer.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.wbctransfer.config.Defaults;
import org.wbctransfer.config.Subset;
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
                + " used are left out of the split, warned about and listed in the manifest's header."
                + " --group-by draws a grouped split: images whose file names share a group stay on one side of the"
                + " test boundary.")
public final class SplitCommand implements Callable<Integer> {

    @Option(names = "--data", defaultValue = Defaults.DATA, description = "Dataset root (<root>/<Class>/<image>). Default: ${DEFAULT-VALUE}")
    Path data;

    @Option(names = {"-o", "--out"}, required = true, description = "Manifest CSV to write")
    Path out;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the draw. Default: ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--image-size", defaultValue = "" + Defaults.IMAGE_SIZE, description = "Size the images are decoded and cached at"
            + " (use the training's, so that training reuses the cache). Default: ${DEFAULT-VALUE}")
    int imageSize;

    @Mixin
    CacheOption cacheOption;

    @Option(names = "--group-by", paramLabel = "<regex>", description = "Grouped split: an image's group is the first"
            + " capturing group (else the whole match) of this regular expression found in its file name; a name that"
            + " does not match is a group of its own. Whole groups go to the test set, each class's test count as near"
            + " floor(17%%) as the groups allow. On Raabin-WBC: '^([^_]+)_' (the smear, or the capture day of the"
            + " time-named basophils).")
    String groupBy;

    @Mixin
    StrictOption strictOption;

    @Override
    public Integer call() throws Exception {
        Defaults.checkImageSize(imageSize, "--image-size");
        OutFile.check(out, "split --out");
        // Checked before any image is decoded.
        java.util.regex.Pattern pattern = groupBy == null ? null : SplitManifest.compileGroupBy(groupBy, "--group-by");
        SplitManifest m = SplitData.draw(data, seed, pattern, imageSize, cacheOption.dir, strictOption.strict, StrictOption::warn);
        m.write(out);
        System.out.println(pattern == null ? summary(m) : groupedSummary(m, pattern));
        if (!m.skipped().isEmpty()) {
            System.out.println(m.skipped().size() + " file(s) skipped (listed in the manifest's header)");
        }
        System.out.println("wrote " + out);
        return 0;
    }

    /**
     * Per class: the test count beside the image-level rule's floor(17 %), the groups holding the
     * class's images (and how many of them are in the test set), then the totals.
     */
    static String groupedSummary(SplitManifest m, java.util.regex.Pattern pattern) {
        int k = m.classNames().size();
        java.util.List<java.util.Set<String>> groups = new java.util.ArrayList<>();
        java.util.List<java.util.Set<String>> testGroups = new java.util.ArrayList<>();
        for (int c = 0; c < k; c++) {
            groups.add(new java.util.HashSet<>());
            testGroups.add(new java.util.HashSet<>());
        }
        java.util.Set<String> all = new java.util.HashSet<>();
        java.util.Set<String> allTest = new java.util.HashSet<>();
        for (SplitManifest.Entry e : m.entries()) {
            String g = SplitManifest.groupKey(pattern, e.relativePath());
            if (g == null) {
                g = e.relativePath();
            }
            int c = m.labelOf(e);
            groups.get(c).add(g);
            all.add(g);
            if (e.test()) {
                testGroups.get(c).add(g);
                allTest.add(g);
            }
        }
        int[] test = m.countPerClass(m.test());
        int[] n = m.countPerClass(m.entries());
        int[] train = m.countPerClass(m.train("WBC_100"));
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%-12s %7s %7s %7s %7s %11s %8s%n", "class", "images", "test", "rule", "test %",
                "test groups", "WBC_100"));
        int ruleTotal = 0;
        for (int c = 0; c < k; c++) {
            int rule = n[c] * SplitManifest.TEST_PERCENT / 100;
            ruleTotal += rule;
            sb.append(String.format("%-12s %7d %7d %7d %6.1f%% %11s %8d%n", m.classNames().get(c), n[c], test[c], rule,
                    100.0 * test[c] / n[c], testGroups.get(c).size() + "/" + groups.get(c).size(), train[c]));
        }
        int total = m.entries().size();
        sb.append(String.format("%-12s %7d %7d %7d %6.1f%% %11s %8d%n", "total", total, m.test().size(), ruleTotal,
                100.0 * m.test().size() / total, allTest.size() + "/" + all.size(), m.train("WBC_100").size()));
        sb.append(all.size()).append(" groups by '").append(m.groupBy()).append("'; ")
                .append(SplitManifest.ungrouped(pattern, m.entries()))
                .append(" image(s) whose name does not match, each a group of its own");
        sb.append('\n').append(summary(m));
        return sb.toString();
    }

    static String summary(SplitManifest m) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%-12s %7s", "class", "test"));
        for (String s : Subset.names()) {
            sb.append(String.format(" %8s", s));
        }
        sb.append('\n');
        int[] test = m.countPerClass(m.test());
        int[][] sub = new int[Subset.values().length][];
        int j = 0;
        for (String s : Subset.names()) {
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
