package org.wbctransfer.serve;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.wbctransfer.TinyModel;
import org.wbctransfer.cli.WbcCli;

/** One exported tiny-model bundle per test JVM, shared by the serve and Spark tests: training it takes a while. */
public final class TestBundle {
    private static Path bundle;

    private TestBundle() {}

    public static synchronized Path get() throws Exception {
        if (bundle == null) {
            Path dir = Files.createTempDirectory("wbc-serve-test");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
            Path run = TinyModel.train(dir);
            Path out = dir.resolve("bundle");
            if (WbcCli.run("export", run.toString(), "--out", out.toString()) != 0) {
                throw new IllegalStateException("export of the test model failed");
            }
            bundle = out;
        }
        return bundle;
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temp folder is not worth failing the run for
        }
    }
}
