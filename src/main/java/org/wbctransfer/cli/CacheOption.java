package org.wbctransfer.cli;

import java.nio.file.Path;
import org.wbctransfer.config.Defaults;
import picocli.CommandLine.Option;

/** {@code --cache-dir}, shared by the commands that decode images. */
final class CacheOption {

    @Option(names = "--cache-dir", defaultValue = Defaults.CACHE, description = "Decoded-image cache. Default: ${DEFAULT-VALUE}")
    Path dir;
}
