package org.wbctransfer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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

    private static ImageFolder raabin;
    private static SplitManifest manifest;

    @TempDir
    Path dir;

    @BeforeAll
    static void scanRealData() {
        // Scanned once: 10k directory entries, no decoding.
        raabin = ImageFolder.scan(TestImages.dataRoot().resolve("raabin-wbc/train"));
        manifest = SplitManifest.create(raabin, 42);
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

    private static Set<String> paths(List<SplitManifest.Entry> entries) {
        return entries.stream().map(SplitManifest.Entry::relativePath).collect(Collectors.toSet());
    }
}
