package org.wbctransfer.pretrain;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.wbctransfer.config.Defaults;
import org.wbctransfer.model.BackboneBundle;
import org.wbctransfer.model.Devices;
import org.wbctransfer.model.ResNet18;
import org.wbctransfer.model.ResNetBackbone;
import org.wbctransfer.model.WeightInit;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Hashing;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;
import org.wbctransfer.util.Versions;

/**
 * Runs a recipe's stages in order on one backbone and saves a backbone bundle after each stage
 * ({@code <out>/<n>-<name>/backbone}) and the final one at {@code <out>/backbone}. A stage whose
 * bundle already exists for the same chain of settings and seed is loaded instead of rerun, so
 * an interrupted chain resumes at the stage it was in and a shared prefix is computed once.
 */
public final class Pretrainer {

    private static final Logger LOG = LoggerFactory.getLogger(Pretrainer.class);
    public static final String FINAL = "backbone";
    private static final String CHAIN_KEY = "chain.sha256";

    private Pretrainer() {}

    /** Where the backbone after stage {@code index} (from 0) of a chain run into {@code outDir} is saved. */
    public static Path stageBundle(Path outDir, int index, Recipe.StageSpec spec) {
        return outDir.resolve((index + 1) + "-" + spec.displayName()).resolve("backbone");
    }

    /**
     * Runs the recipe's stages into {@code outDir} and returns the final backbone bundle;
     * {@code strict}: an unusable input file is an error instead of a warning. A stage that fails on its input leaves no empty
     * folders behind.
     */
    public static Path run(Recipe recipe, Path outDir, long seed, int imageSize, Path cacheDir, boolean progress,
            boolean strict) throws IOException {
        List<PretrainStage> stages = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        StringBuilder chain = new StringBuilder("seed=" + seed + ";size=" + imageSize + ";");
        for (int i = 0; i < recipe.stages().size(); i++) {
            Recipe.StageSpec s = recipe.stages().get(i);
            stages.add(stage(s)); // unknown types fail before any training
            chain.append(Json.MAPPER.writeValueAsString(s)).append(';');
            keys.add(Hashing.sha256(chain.toString()));
            if (!Files.exists(Path.of(s.data()))) {
                throw new UserException(s.data() + ": data folder of stage '" + s.displayName() + "' not found. "
                        + org.wbctransfer.data.DataLayout.HELP);
            }
            if (!isDone(outDir, i, s, keys.get(i)) && !borrow(outDir, i, s, keys.get(i))) {
                stages.get(i).checkInput();
            }
        }
        Engine.getInstance().setRandomSeed((int) seed);
        List<BackboneBundle.Stage> done = new ArrayList<>();
        try (Model model = Model.newInstance("pretrain", Devices.compute())) {
            ResNetBackbone backbone = ResNet18.backbone();
            backbone.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 3, imageSize, imageSize));
            WeightInit.apply(backbone, seed);
            Path last = null;
            for (int i = 0; i < recipe.stages().size(); i++) {
                Recipe.StageSpec spec = recipe.stages().get(i);
                Path bundle = stageBundle(outDir, i, spec);
                Path stageDir = bundle.getParent();
                if (isDone(outDir, i, spec, keys.get(i))) {
                    LOG.info("stage {} ({}) already done: {}", i + 1, spec.displayName(), bundle);
                    backbone = BackboneBundle.load(bundle, model.getNDManager(), imageSize);
                    done.clear();
                    done.addAll(BackboneBundle.readMetadata(bundle).stages());
                    last = bundle;
                    continue;
                }
                boolean freshOut = !Files.exists(outDir);
                boolean freshStage = !Files.exists(stageDir);
                Files.createDirectories(stageDir);
                LOG.info("stage {}/{}: {} on {}", i + 1, recipe.stages().size(), spec.type(), spec.data());
                PretrainContext ctx = new PretrainContext(backbone, model.getNDManager(), imageSize, seed + i, stageDir,
                        cacheDir, progress, strict);
                BackboneBundle.Stage record;
                try {
                    record = stages.get(i).run(ctx);
                } catch (UserException e) {
                    // Bad input is found before a stage writes anything: remove the folders made for it.
                    if (freshStage) {
                        deleteIfEmpty(stageDir);
                    }
                    if (freshOut) {
                        deleteIfEmpty(outDir);
                    }
                    throw e;
                }
                LOG.info("stage {} done in {} s: {}", spec.displayName(), Math.round(record.seconds()), record.metrics());
                done.add(record);
                BackboneBundle.save(bundle, backbone, metadata(imageSize, seed, done));
                AtomicFiles.writeString(stageDir.resolve(CHAIN_KEY), keys.get(i) + "\n");
                last = bundle;
            }
            BackboneBundle.save(outDir.resolve(FINAL), backbone, metadata(imageSize, seed, done));
            LOG.info("pre-trained backbone: {} (last stage bundle {})", outDir.resolve(FINAL), last);
            return outDir.resolve(FINAL);
        }
    }

    /** Whether the stage's bundle exists for the same chain of settings and seed ({@code key}). */
    private static boolean isDone(Path outDir, int index, Recipe.StageSpec spec, String key) throws IOException {
        Path bundle = stageBundle(outDir, index, spec);
        Path keyFile = bundle.getParent().resolve(CHAIN_KEY);
        return Files.isRegularFile(keyFile) && Files.readString(keyFile).strip().equals(key)
                && Files.isRegularFile(bundle.resolve(BackboneBundle.METADATA));
    }

    /**
     * Copies a finished stage from a sibling chain (another folder beside {@code outDir}, e.g.
     * another recipe of the same grid) that ran the same stages with the same settings, size and
     * seed up to this one ({@code key}), so that recipes sharing a prefix compute it once.
     * Returns whether it did.
     */
    private static boolean borrow(Path outDir, int index, Recipe.StageSpec spec, String key) throws IOException {
        Path parent = outDir.toAbsolutePath().normalize().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            return false;
        }
        List<Path> siblings;
        try (java.util.stream.Stream<Path> s = Files.list(parent)) {
            siblings = s.filter(Files::isDirectory).filter(d -> !d.equals(outDir.toAbsolutePath().normalize()))
                    .sorted().toList();
        }
        for (Path sibling : siblings) {
            if (isDone(sibling, index, spec, key)) {
                Path from = stageBundle(sibling, index, spec).getParent();
                Path to = stageBundle(outDir, index, spec).getParent();
                AtomicFiles.writeFolder(to, tmp -> {
                    try (java.util.stream.Stream<Path> walk = Files.walk(from)) {
                        for (Path f : walk.toList()) {
                            Path target = tmp.resolve(from.relativize(f).toString());
                            if (Files.isDirectory(f)) {
                                Files.createDirectories(target);
                            } else {
                                Files.copy(f, target);
                            }
                        }
                    }
                });
                LOG.info("stage {} ({}) copied from {}: the same stages, settings and seed", index + 1,
                        spec.displayName(), from);
                return true;
            }
        }
        return false;
    }

    private static void deleteIfEmpty(Path dir) {
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
            if (s.findAny().isEmpty()) {
                Files.delete(dir);
            }
        } catch (IOException ignored) {
            // Only tidying up after the real error, which is the one to report.
        }
    }

    private static BackboneBundle.Metadata metadata(int imageSize, long seed, List<BackboneBundle.Stage> stages) {
        return new BackboneBundle.Metadata(BackboneBundle.FORMAT, "resnet18", imageSize, seed, List.copyOf(stages),
                Versions.all());
    }

    static PretrainStage stage(Recipe.StageSpec s) {
        Path data = Path.of(s.data());
        String name = s.displayName();
        int epochs = s.epochs() != null ? s.epochs() : 5;
        int batch = s.batch() != null ? s.batch() : Defaults.BATCH;
        double lr = s.lr() != null ? s.lr() : 1e-3;
        int max = s.maxImages() != null ? s.maxImages() : 0;
        ClassificationGuard guard = ClassificationGuard.of(s.classificationData(), s.manifest());
        return switch (s.type()) {
            case TISSUE -> new TissueStage(name, data, epochs, batch, lr, max);
            case SIMSIAM -> new SimSiamStage(name, data, epochs, batch, lr, max, guard);
            case AUTOENCODER -> new AutoencoderStage(name, data, epochs, batch, lr, max, guard);
            case MASKS -> new MaskStage(name, data, epochs, batch, lr, max, s.zoomOut() != null ? s.zoomOut() : 1,
                    Boolean.TRUE.equals(s.strongColour()));
        };
    }

}
