package org.wbctransfer.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Runs a wbc command in this JVM, then prints whether libtorch is mapped into the process: a check
 * that sees the library however it came to be loaded, not only through the code paths one thought of.
 */
public final class LibtorchProbe {

    static final String MAPPED = "libtorch mapped: ";

    private LibtorchProbe() {}

    public static void main(String[] args) throws IOException {
        int code = WbcCli.run(args);
        boolean mapped = Files.readAllLines(Path.of("/proc/self/maps")).stream().anyMatch(l -> l.contains("libtorch"));
        System.out.println(MAPPED + mapped);
        System.exit(code);
    }
}
