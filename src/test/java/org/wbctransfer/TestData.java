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

    /** The first n images (sorted by name) of a Raabin class, as paths relative to the root. */
    public static List<String> firstImages(String cls, int n) throws IOException {
        try (Stream<Path> s = Files.list(raabin().resolve(cls))) {
            List<String> out = new ArrayList<>();
            s.map(p -> p.getFileName().toString()).sorted().limit(n).forEach(f -> out.add(cls + "/" + f));
            return out;
        }
    }
}
