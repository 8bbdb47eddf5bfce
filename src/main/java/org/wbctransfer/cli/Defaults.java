package org.wbctransfer.cli;

/** Default paths: the shared data sets beside the project, caches under target/. */
final class Defaults {
    static final String DATA = "../shared/datasets/raabin-wbc/train";
    static final String CACHE = "target/wbc-cache";

    private Defaults() {}
}
