package org.wbctransfer.pretrain;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import org.wbctransfer.model.ResNetBackbone;

/**
 * What a pre-training stage works on: the backbone it trains in place (its arrays owned by
 * {@code manager}), the working resolution, the seed, a directory for the stage's own records
 * (summary.csv, logs) and the decoded-image cache. {@code strict}: an unusable input file is an
 * error instead of a warning.
 */
public record PretrainContext(ResNetBackbone backbone, NDManager manager, int imageSize, long seed, Path stageDir,
        Path cacheDir, boolean progress, boolean strict) {}
