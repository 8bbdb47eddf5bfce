package org.wbctransfer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.wbctransfer.util.UserException;

class SplitManifestTest {

    private static final List<String> CLASSES =
            List.of("Basophil", "Eosinophil", "Lymphocyte", "Monocyte", "Neutrophil");

    /** The README's pattern for Raabin-WBC: the smear (95-8-10-1_...), or the capture day (20190526_...). */
    private static final Pattern SMEAR = Pattern.compile("^([^_]+)_");

    private static ImageFolder raabin;
    private static SplitManifest manifest;
    private static SplitManifest grouped;

    @TempDir
    Path dir;

    @BeforeAll
    static void scanRealData() {
        // Scanned once: 10k directory entries, no decoding.
        raabin = ImageFolder.scan(TestImages.dataRoot().resolve("raabin-wbc/train"));
        manifest = SplitManifest.create(raabin, 42);
        grouped = SplitManifest.createGrouped(raabin, 1, SMEAR);
    }

    @Test
    void realFolderHasTheDocumentedClassesAndImages() {
        assertThat(raabin.classNames()).containsExactlyElementsOf(CLASSES);
        assertThat(raabin.items()).hasSize(10_175);
        assertThat(raabin.warnings()).isEmpty();
        assertThat(manifest.entries()).hasSize(10_175);
        assertThat(manifest.classNames()).containsExactlyElementsOf(CLASSES);
    }

    @Test
    void countsFollowTheSeedProjectRule() {
        assertThat(manifest.test()).hasSize(1_728);
        assertThat(manifest.countPerClass(manifest.test())).containsExactly(36, 126, 412, 95, 1059);

        assertThat(manifest.train("WBC_100")).hasSize(8_447);
        assertThat(manifest.countPerClass(manifest.train("WBC_100"))).containsExactly(176, 618, 2015, 466, 5172);

        // floor(50 %, 10 % of each class's 176/618/2015/466/5172 training images)
        assertThat(manifest.train("WBC_50")).hasSize(4_223);
        assertThat(manifest.countPerClass(manifest.train("WBC_50"))).containsExactly(88, 309, 1007, 233, 2586);
        assertThat(manifest.train("WBC_10")).hasSize(842);
        assertThat(manifest.countPerClass(manifest.train("WBC_10"))).containsExactly(17, 61, 201, 46, 517);

        assertThat(manifest.train("WBC_1")).hasSize(82);
        assertThat(manifest.countPerClass(manifest.train("WBC_1"))).containsExactly(1, 6, 20, 4, 51);
    }

    @Test
    void subsetNamesAreCaseAndDashInsensitive() {
        assertThat(manifest.train("wbc-10")).isEqualTo(manifest.train("WBC_10"));
        assertThatThrownBy(() -> manifest.train("WBC_25"))
                .isInstanceOf(UserException.class)
                .hasMessageContaining("WBC_25");
    }

    @Test
    void subsetsAreNestedAndDisjointFromTest() {
        Set<String> test = paths(manifest.test());
        Set<String> w100 = paths(manifest.train("WBC_100"));
        Set<String> w50 = paths(manifest.train("WBC_50"));
        Set<String> w10 = paths(manifest.train("WBC_10"));
        Set<String> w1 = paths(manifest.train("WBC_1"));

        assertThat(w100).containsAll(w50);
        assertThat(w50).containsAll(w10);
        assertThat(w10).containsAll(w1);
        assertThat(w100).doesNotContainAnyElementsOf(test);

        Set<String> all = new HashSet<>(test);
        all.addAll(w100);
        assertThat(all).hasSize(10_175);
        for (SplitManifest.Entry e : manifest.entries()) {
            // every entry's class is the folder it lives in
            assertThat(e.relativePath()).startsWith(e.className() + "/");
        }
    }

    @Test
    void sameSeedGivesIdenticalCsvAndOtherSeedAnotherTestSet() throws IOException {
        SplitManifest again = SplitManifest.create(ImageFolder.scan(raabin.root()), 42);
        Path a = dir.resolve("a.csv");
        Path b = dir.resolve("b.csv");
        manifest.write(a);
        again.write(b);
        assertThat(Files.readAllBytes(b)).isEqualTo(Files.readAllBytes(a));
        assertThat(again.sha256()).isEqualTo(manifest.sha256());

        SplitManifest other = SplitManifest.create(raabin, 43);
        assertThat(other.test()).hasSize(1_728);
        assertThat(paths(other.test())).isNotEqualTo(paths(manifest.test()));
        assertThat(other.sha256()).isNotEqualTo(manifest.sha256());
    }

    @Test
    void csvRoundTripKeepsEntriesAndSeed() throws IOException {
        Path file = dir.resolve("sub/split.csv");
        manifest.write(file);
        SplitManifest read = SplitManifest.read(file);
        assertThat(read.seed()).isEqualTo(42);
        assertThat(read.classNames()).isEqualTo(manifest.classNames());
        assertThat(read.entries()).isEqualTo(manifest.entries());
        assertThat(read.toCsv()).isEqualTo(manifest.toCsv());
    }

    @Test
    void csvRoundTripQuotesAwkwardNamesAndKeepsNegativeSeed() throws IOException {
        List<SplitManifest.Entry> entries = List.of(
                new SplitManifest.Entry("A/with,comma.jpg", "A", false, 1),
                new SplitManifest.Entry("A/with \"quote\".jpg", "A", true, Integer.MAX_VALUE),
                new SplitManifest.Entry("B,x/plain.png", "B,x", false, 50));
        SplitManifest m = new SplitManifest(-7, List.of("A", "B,x"), entries);
        Path file = dir.resolve("awkward.csv");
        m.write(file);
        SplitManifest read = SplitManifest.read(file);
        assertThat(read.seed()).isEqualTo(-7);
        assertThat(read.entries()).isEqualTo(entries);
        assertThat(read.classNames()).containsExactly("A", "B,x");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "not,a,manifest\nA/x.jpg,A,train,1,0,0,0\n",
        "path,class,split,wbc_100,wbc_50,wbc_10,wbc_1\nA/x.jpg,A,train,1,0\n",
        "path,class,split,wbc_100,wbc_50,wbc_10,wbc_1\nA/x.jpg,A,validate,1,0,0,0\n",
        "# wbc-transfer split manifest; seed=forty-two; x\npath,class,split,wbc_100,wbc_50,wbc_10,wbc_1\nA/x.jpg,A,train,1,0,0,0\n",
        "path,class,split,wbc_100,wbc_50,wbc_10,wbc_1\n",
        ""
    })
    void malformedManifestIsAUserErrorNamingTheFile(String content) throws IOException {
        Path file = dir.resolve("broken-manifest.csv");
        Files.writeString(file, content);
        assertThatThrownBy(() -> SplitManifest.read(file))
                .isInstanceOf(UserException.class)
                .hasMessageContaining(file.toString());
    }

    @Test
    void missingManifestIsAUserErrorNamingTheFile() {
        Path file = dir.resolve("nowhere.csv");
        assertThatThrownBy(() -> SplitManifest.read(file))
                .isInstanceOf(UserException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("not found");
    }

    @Test
    void realFileNamesFallIntoSmearAndCaptureDayGroups() {
        Map<String, Set<String>> classesOf = new HashMap<>();
        Map<String, Integer> size = new HashMap<>();
        for (SplitManifest.Entry e : grouped.entries()) {
            String g = SplitManifest.groupKey(SMEAR, e.relativePath());
            classesOf.computeIfAbsent(g, x -> new HashSet<>()).add(e.className());
            size.merge(g, 1, Integer::sum);
        }
        assertThat(SplitManifest.ungrouped(SMEAR, grouped.entries())).isZero();
        // 54 smears (95-M-D-S) and the 4 capture days of the basophils (named yyyyMMdd_HHmmss_i).
        assertThat(classesOf).hasSize(58);
        assertThat(classesOf.keySet().stream().filter(g -> g.matches("95-\\d+-\\d+-\\d+"))).hasSize(54);
        assertThat(size).containsEntry("20190526", 49).containsEntry("20190527", 51).containsEntry("20190531", 92)
                .containsEntry("20190604", 20).containsEntry("95-8-10-1", 1253).containsEntry("95-8-27-1", 380);
        // Smears hold up to four classes (basophils only ever share a group with basophils).
        assertThat(classesOf.values().stream().filter(c -> c.size() == 4)).hasSize(30);
        assertThat(classesOf.values().stream().filter(c -> c.contains("Basophil")).allMatch(c -> c.size() == 1)).isTrue();
    }

    @Test
    void groupedSplitKeepsEveryGroupOnOneSide() {
        assertThat(grouped.entries()).hasSize(10_175);
        Map<String, Set<Boolean>> sides = new HashMap<>();
        for (SplitManifest.Entry e : grouped.entries()) {
            sides.computeIfAbsent(SplitManifest.groupKey(SMEAR, e.relativePath()), g -> new HashSet<>()).add(e.test());
        }
        assertThat(sides.values()).allMatch(s -> s.size() == 1);
        assertThat(sides.values().stream().filter(s -> s.contains(true))).hasSize(17);
    }

    @Test
    void groupedTestCountsAreAsNearTheRuleAsGroupsAllow() {
        int[] rule = manifest.countPerClass(manifest.test()); // the image-level floor(17 %)
        assertThat(rule).containsExactly(36, 126, 412, 95, 1059);
        // Split seed 1: Basophil 49 (23.1 %), the others within 1 % of their target.
        assertThat(grouped.countPerClass(grouped.test())).containsExactly(49, 126, 414, 95, 1068);
        assertThat(grouped.test()).hasSize(1_752);
        // Basophil's groups are its four capture days (49, 51, 92, 20 images): no subset of them is
        // nearer 36 than 49, so that is the best the groups allow.
        int best = Integer.MAX_VALUE;
        int[] days = {49, 51, 92, 20};
        for (int mask = 0; mask < 16; mask++) {
            int sum = 0;
            for (int d = 0; d < 4; d++) {
                sum += (mask >> d & 1) * days[d];
            }
            best = Math.abs(sum - 36) < Math.abs(best - 36) ? sum : best;
        }
        assertThat(best).isEqualTo(49);
        for (long seed = 2; seed <= 4; seed++) {
            SplitManifest m = SplitManifest.createGrouped(raabin, seed, SMEAR);
            int[] test = m.countPerClass(m.test());
            assertThat(test[0]).as("seed %d Basophil", seed).isEqualTo(49);
            for (int c = 1; c < 5; c++) {
                assertThat(Math.abs(test[c] - rule[c])).as("seed %d %s", seed, CLASSES.get(c)).isLessThanOrEqualTo(rule[c] / 100 + 1);
            }
        }
    }

    @Test
    void groupedSubsetsAreNestedFloorsOfEachClassesTrainingImages() {
        int[] train = grouped.countPerClass(grouped.train("WBC_100"));
        assertThat(train).containsExactly(163, 618, 2013, 466, 5163);
        for (String s : List.of("WBC_50", "WBC_10", "WBC_1")) {
            int p = SplitManifest.percentOf(s);
            int[] sub = grouped.countPerClass(grouped.train(s));
            for (int c = 0; c < 5; c++) {
                assertThat(sub[c]).as(s + " " + CLASSES.get(c)).isEqualTo(train[c] * p / 100);
            }
        }
        Set<String> test = paths(grouped.test());
        Set<String> w100 = paths(grouped.train("WBC_100"));
        Set<String> w50 = paths(grouped.train("WBC_50"));
        Set<String> w10 = paths(grouped.train("WBC_10"));
        Set<String> w1 = paths(grouped.train("WBC_1"));
        assertThat(w100).containsAll(w50).doesNotContainAnyElementsOf(test);
        assertThat(w50).containsAll(w10);
        assertThat(w10).containsAll(w1);
        assertThat(test.size() + w100.size()).isEqualTo(10_175);
    }

    @Test
    void groupedSameSeedGivesIdenticalBytesAndOtherSeedAnotherTestSet() throws IOException {
        SplitManifest again = SplitManifest.createGrouped(ImageFolder.scan(raabin.root()), 1, Pattern.compile(SMEAR.pattern()));
        Path a = dir.resolve("a.csv");
        Path b = dir.resolve("b.csv");
        grouped.write(a);
        again.write(b);
        assertThat(Files.readAllBytes(b)).isEqualTo(Files.readAllBytes(a));

        SplitManifest other = SplitManifest.createGrouped(raabin, 2, SMEAR);
        assertThat(paths(other.test())).isNotEqualTo(paths(grouped.test()));
        assertThat(other.sha256()).isNotEqualTo(grouped.sha256());
        // Not the image-level split of the same seed either.
        assertThat(grouped.sha256()).isNotEqualTo(SplitManifest.create(raabin, 1).sha256());
    }

    @Test
    void groupedManifestRecordsItsPatternAndImageLevelOnesAreUnchanged() throws IOException {
        String csv = grouped.toCsv();
        assertThat(csv).startsWith("# wbc-transfer split manifest; seed=1; test=whole groups, per class as near floor(17%)"
                + " as groups allow; subsets=floor(p% of per-class train), nested\n# group-by: ^([^_]+)_\npath,class,split,");
        Path file = dir.resolve("grouped.csv");
        grouped.write(file);
        SplitManifest read = SplitManifest.read(file);
        assertThat(read.groupBy()).isEqualTo("^([^_]+)_");
        assertThat(read.seed()).isEqualTo(1);
        assertThat(read.entries()).isEqualTo(grouped.entries());
        assertThat(read.toCsv()).isEqualTo(csv);

        // A pattern may hold "seed=": the group-by line is read before the header's seed.
        SplitManifest odd = new SplitManifest(5, List.of("A"), List.of(new SplitManifest.Entry("A/x.jpg", "A", false, 1)),
                List.of(), "seed=(\\d+);");
        odd.write(file);
        assertThat(SplitManifest.read(file).seed()).isEqualTo(5);
        assertThat(SplitManifest.read(file).groupBy()).isEqualTo("seed=(\\d+);");

        // The image-level manifest has no group-by line: existing manifests keep their bytes and hash.
        assertThat(manifest.toCsv()).startsWith("# wbc-transfer split manifest; seed=42; test=floor(17% per class);"
                + " subsets=floor(p% of per-class train), nested\npath,class,split,").doesNotContain("group-by");
        manifest.write(file);
        assertThat(SplitManifest.read(file).groupBy()).isNull();
    }

    @Test
    void unmatchedNamesAreGroupsOfTheirOwn() {
        // Only the smear names match: the 212 basophils are each their own group, so Basophil meets its target.
        Pattern smearsOnly = Pattern.compile("^(95-[^_]+)_");
        SplitManifest m = SplitManifest.createGrouped(raabin, 1, smearsOnly);
        assertThat(SplitManifest.ungrouped(smearsOnly, m.entries())).isEqualTo(212);
        assertThat(m.countPerClass(m.test())[0]).isEqualTo(36);
        assertThat(m.groupBy()).isEqualTo("^(95-[^_]+)_");
    }

    @Test
    void groupKeyIsTheFirstCapturingGroupElseTheWholeMatchOfTheFileName() {
        assertThat(SplitManifest.groupKey(SMEAR, "Neutrophil/95-8-10-1_1001_1.jpg")).isEqualTo("95-8-10-1");
        assertThat(SplitManifest.groupKey(SMEAR, "Basophil/20190526_162951_0.jpg")).isEqualTo("20190526");
        assertThat(SplitManifest.groupKey(Pattern.compile("^[^_]+_\\d+"), "Basophil/20190526_162951_0.jpg"))
                .isEqualTo("20190526_162951");
        // A group that takes no part in the match: the whole match.
        assertThat(SplitManifest.groupKey(Pattern.compile("^(x)?\\d+"), "B/2019_1.jpg")).isEqualTo("2019");
        // Only the file name is matched, not its class folder.
        assertThat(SplitManifest.groupKey(Pattern.compile("Neutro"), "Neutrophil/95-8-10-1_1001_1.jpg")).isNull();
    }

    @Test
    void groupAssignmentMeetsTargetsExactlyWithSingletonsAndNearlyWithLargeGroups() {
        // 20 single images of class 0 and 10 of class 1, targets 3 and 1.
        int[][] singles = new int[30][];
        for (int i = 0; i < 30; i++) {
            singles[i] = i < 20 ? new int[] {1, 0} : new int[] {0, 1};
        }
        boolean[] in = SplitManifest.assignGroups(singles, new int[] {3, 1});
        int[] x = new int[2];
        for (int i = 0; i < 30; i++) {
            if (in[i]) {
                x[0] += singles[i][0];
                x[1] += singles[i][1];
            }
        }
        assertThat(x).containsExactly(3, 1);
        // The greedy pass takes the first two groups (8 and 1); a swap of the first for the third gives 4 and 1.
        int[][] groups = {{5, 0}, {3, 1}, {1, 0}, {0, 4}};
        assertThat(SplitManifest.assignGroups(groups, new int[] {4, 1})).containsExactly(false, true, true, false);
    }

    @Test
    void badGroupByPatternIsAOneLineUserError() {
        assertThatThrownBy(() -> SplitManifest.compileGroupBy("^([^_]+_", "--group-by"))
                .isInstanceOf(UserException.class)
                .hasMessageStartingWith("--group-by: '^([^_]+_' is not a valid regular expression (Unclosed group")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        assertThatThrownBy(() -> SplitManifest.compileGroupBy("a\nb", "groupBy"))
                .isInstanceOf(UserException.class).hasMessageContaining("line break");
    }

    private static Set<String> paths(List<SplitManifest.Entry> entries) {
        return entries.stream().map(SplitManifest.Entry::relativePath).collect(Collectors.toSet());
    }
}
