package org.wbctransfer.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.wbctransfer.config.Defaults;
import org.wbctransfer.pretrain.Pretrainer;
import org.wbctransfer.pretrain.Recipe;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code wbc pretrain}: runs a pre-training recipe and writes backbone bundles. */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
        description = "Pre-train a ResNet-18 backbone with a chain of stages (tissue classification, SimSiam or"
                + " autoencoder self-supervision, WBC mask segmentation) listed in a YAML recipe. Each stage saves a"
                + " backbone bundle; a finished stage is reused when the chain is run again.")
public final class PretrainCommand implements Callable<Integer> {

    @Option(names = "--recipe", defaultValue = "enhanced",
            description = "Recipe file, or a built-in: enhanced, tissue-only, ssl-only, autoencoder-only, masks-only. Default: ${DEFAULT-VALUE}")
    String recipe;

    @Option(names = {"-o", "--out"}, required = true, description = "Output folder (stage bundles and <out>/backbone)")
    Path out;

    @Option(names = "--seed", defaultValue = "0", description = "Seed. Default: ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--image-size", description = "Working resolution; default: the recipe's, else " + Defaults.IMAGE_SIZE)
    Integer imageSize;

    @Mixin
    CacheOption cacheOption;

    @Option(names = "--manifest", description = "Split manifest (wbc split) of the classification data, for the simsiam and"
            + " autoencoder stages that name none: a folder holding images of that data is refused without one; with"
            + " one, its test rows are dropped from the folder")
    Path manifest;

    @Mixin
    ProgressOption progress;

    @Mixin
    StrictOption strictOption;

    @Override
    public Integer call() throws Exception {
        Recipe r = Recipe.load(recipe);
        if (manifest != null) {
            r = r.withManifest(manifest.toString());
        }
        int size = Defaults.checkImageSize(imageSize != null ? imageSize : (r.imageSize() != null ? r.imageSize() : Defaults.IMAGE_SIZE), "--image-size");
        long t0 = System.nanoTime();
        Path bundle = Pretrainer.run(r, out, seed, size, cacheOption.dir, progress.bars(), strictOption.strict);
        System.out.printf("pre-trained backbone in %s (%.1f min)%n", bundle, (System.nanoTime() - t0) / 6e10);
        return 0;
    }
}
