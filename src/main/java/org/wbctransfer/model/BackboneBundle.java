package org.wbctransfer.model;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;

/**
 * A pre-trained backbone on disk: {@code backbone.params} and {@code metadata.json} naming every
 * stage that shaped the weights (task, data and its hash, settings, metrics, seed), so a
 * fine-tuned model can say exactly what it was pre-trained on.
 */
public final class BackboneBundle {

    public static final String WEIGHTS = "backbone.params";
    public static final String METADATA = "metadata.json";
    public static final String FORMAT = "wbc-transfer-backbone/1";

    /** One pre-training stage as recorded in the bundle. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Stage(String name, String type, String data, String dataSha256, int images, int epochs,
            Map<String, Object> settings, Map<String, Object> metrics, double seconds) {}

    /** {@code metadata.json} of a backbone bundle. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Metadata(String format, String architecture, int imageSize, long seed, List<Stage> stages,
            Map<String, String> versions) {}

    private BackboneBundle() {}

    public static void save(Path dir, ResNetBackbone backbone, Metadata md) throws IOException {
        Files.createDirectories(dir);
        AtomicFiles.write(dir.resolve(WEIGHTS), tmp -> {
            try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20))) {
                backbone.saveParameters(out);
            }
        });
        // Metadata last: a bundle with metadata.json is complete.
        Json.write(dir.resolve(METADATA), md);
    }

    public static Metadata readMetadata(Path dir) {
        if (!Files.isRegularFile(dir.resolve(METADATA))) {
            throw new UserException(dir + ": not a backbone bundle (no " + METADATA + ")");
        }
        Metadata md = Json.read(dir.resolve(METADATA), Metadata.class);
        if (!FORMAT.equals(md.format())) {
            throw new UserException(dir.resolve(METADATA) + ": format '" + md.format() + "', expected " + FORMAT);
        }
        return md;
    }

    /** A new backbone with the bundle's weights, its arrays in the given manager. */
    public static ResNetBackbone load(Path dir, NDManager manager, int imageSize) {
        readMetadata(dir);
        ResNetBackbone backbone = ResNet18.backbone();
        backbone.initialize(manager, DataType.FLOAT32, new Shape(1, 3, imageSize, imageSize));
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(dir.resolve(WEIGHTS))))) {
            backbone.loadParameters(manager, in);
        } catch (IOException | MalformedModelException e) {
            throw new UserException(dir.resolve(WEIGHTS) + ": cannot load backbone weights (" + e.getMessage() + ")", e);
        }
        backbone.getParameters().forEach(p -> {
            if (p.getValue().requiresGradient()) {
                p.getValue().getArray().setRequiresGradient(true);
            }
        });
        return backbone;
    }
}
