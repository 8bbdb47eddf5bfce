package org.wbctransfer.cli;

import picocli.CommandLine.Option;

/** {@code --no-progress}, shared by the commands that run long. */
final class ProgressOption {

    @Option(names = "--no-progress", description = "No progress bars (log lines only)")
    boolean noProgress;

    /**
     * Whether to draw progress bars: not when asked not to, and not when no terminal is attached
     * (output redirected to a log or a pipe), where each redraw would be another line of noise;
     * the per-epoch log lines carry the same figures.
     */
    boolean bars() {
        return !noProgress && System.console() != null;
    }
}
