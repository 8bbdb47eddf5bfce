package org.wbctransfer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The packages form layers and every reference points down: a package may use its own layer's
 * package only if it is itself, and any package of a lower layer. Read from the sources (imports
 * and fully qualified names), so a new upward arrow fails the build.
 */
class PackageOrderTest {

    /** Layer of each package, lowest first; packages of one layer do not use each other. */
    static final Map<String, Integer> LAYERS = Map.ofEntries(
            Map.entry("util", 0), Map.entry("config", 1), Map.entry("data", 2), Map.entry("model", 3),
            Map.entry("evaluation", 4), Map.entry("explain", 5), Map.entry("training", 6),
            Map.entry("pretrain", 7), Map.entry("serve", 7), Map.entry("bench", 8),
            Map.entry("experiment", 9), Map.entry("spark", 10), Map.entry("cli", 11));

    private static final Pattern REF = Pattern.compile("org\\.wbctransfer\\.(\\w+)\\.[A-Z]");
    private static final Path MAIN = Path.of("src/main/java/org/wbctransfer");

    @Test
    void everyReferenceFromMainCodePointsToALowerLayer() throws IOException {
        List<String> upward = new ArrayList<>();
        TreeSet<String> packages = new TreeSet<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String pkg = MAIN.relativize(f).getName(0).toString();
                packages.add(pkg);
                Matcher m = REF.matcher(Files.readString(f));
                TreeSet<String> seen = new TreeSet<>();
                while (m.find()) {
                    String dep = m.group(1);
                    if (!dep.equals(pkg) && LAYERS.containsKey(pkg) && LAYERS.containsKey(dep)
                            && LAYERS.get(dep) >= LAYERS.get(pkg) && seen.add(dep)) {
                        upward.add(MAIN.relativize(f) + " -> " + dep);
                    }
                }
            }
        }
        assertThat(LAYERS.keySet()).as("every package has a layer").containsAll(packages);
        assertThat(upward).as("references that do not point to a lower layer").isEmpty();
    }

    @Test
    void theCheckSeesAnUpwardReference() {
        Matcher m = REF.matcher("import org.wbctransfer.training.WbcTrainer;");
        assertThat(m.find()).isTrue();
        assertThat(LAYERS.get(m.group(1))).isGreaterThan(LAYERS.get("evaluation"));
    }
}
