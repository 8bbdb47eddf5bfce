package org.wbctransfer.cli;

import picocli.CommandLine.Option;

/**
 * {@code --strict}, shared by the commands that read images. By default an input file that cannot
 * be used (an empty, truncated or corrupt image, a non-image file in a class folder, an image
 * claiming more than 64 M pixels, an empty class folder, an unknown class) is skipped with a
 * one-line warning and counted in what the command writes; with {@code --strict} the first one
 * stops the command with {@code wbc: error: <file>: <problem>} (exit code 2) before any output is
 * written.
 */
final class StrictOption {

    @Option(names = "--strict", description = "Stop at the first input file that cannot be used (unreadable, truncated or"
            + " corrupt image, non-image file, empty class folder, unknown class) instead of skipping it with a warning")
    boolean strict;

    static void warn(String message) {
        org.wbctransfer.util.Warnings.warn(message);
    }
}
