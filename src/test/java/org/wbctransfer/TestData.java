package org.wbctransfer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Locates the shared real data sets; CI lays them beside the project at ../shared/datasets. */
public final class TestData {
    private TestData() {}

    public static Path datasets() {
        Path p = Path.of(System.getProperty("wbc.data", "../shared/datasets"));
        if (!Files.isDirectory(p)) {
            throw new IllegalStateException("shared datasets not found at " + p.toAbsolutePath()
                    + " (set -Dwbc.data=...)");
        }
        return p;
    }

    public static Path raabin() {
        return datasets().resolve("raabin-wbc/train");
    }

    public static final List<String> CLASSES = List.of("Basophil", "Eosinophil", "Lymphocyte", "Monocyte", "Neutrophil");

    /**
     * A manifest over real Raabin images: the first {@code train} images of each class train
     * (subset WBC_100), the next {@code test} are the test split.
     */
    public static Path manifest(Path dir, int train, int test) throws IOException {
        List<org.wbctransfer.data.SplitManifest.Entry> entries = new ArrayList<>();
        for (String c : CLASSES) {
            List<String> files = firstImages(c, train + test);
            for (int i = 0; i < files.size(); i++) {
                entries.add(new org.wbctransfer.data.SplitManifest.Entry(files.get(i), c, i >= train,
                        i >= train ? Integer.MAX_VALUE : 100));
            }
        }
        Path m = dir.resolve("manifest.csv");
        new org.wbctransfer.data.SplitManifest(1, CLASSES, entries).write(m);
        return m;
    }

    /** The first n images (sorted by name) of a Raabin class, as paths relative to the root. */
    public static List<String> firstImages(String cls, int n) throws IOException {
        try (Stream<Path> s = Files.list(raabin().resolve(cls))) {
            List<String> out = new ArrayList<>();
            s.map(p -> p.getFileName().toString()).sorted().limit(n).forEach(f -> out.add(cls + "/" + f));
            return out;
        }
    }
}
