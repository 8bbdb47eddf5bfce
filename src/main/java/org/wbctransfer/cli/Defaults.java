package org.wbctransfer.cli;

import org.wbctransfer.data.DataLayout;

/** Default paths: the shared data sets beside the project, caches under target/. */
final class Defaults {
    static final String DATA = DataLayout.DEFAULT_DATA;
    static final String CACHE = "target/wbc-cache";

    private Defaults() {}

    /**
     * Whether to draw progress bars: not when asked not to, and not when no terminal is attached
     * (output redirected to a log or a pipe), where each redraw would be another line of noise;
     * the per-epoch log lines carry the same figures.
     */
    static boolean progressBars(boolean noProgress) {
        return !noProgress && System.console() != null;
    }
}
