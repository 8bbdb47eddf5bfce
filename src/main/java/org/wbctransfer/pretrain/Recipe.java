package org.wbctransfer.pretrain;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;

/**
 * A pre-training chain in YAML: the stages run in order, each starting from the backbone the
 * previous one left. Built-in recipes live in the jar under {@code recipes/}.
 *
 * <pre>
 * name: enhanced
 * imageSize: 64
 * stages:
 *   - {type: tissue, name: camelyon, data: ../shared/datasets/pcam-camelyon16, epochs: 4}
 *   - {type: simsiam, name: ssl, data: ../shared/datasets/pcam-camelyon16/train, epochs: 5}
 *   - {type: masks, name: masks, data: ../shared/datasets/wbc-seg, epochs: 30}
 * </pre>
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Recipe(String name, Integer imageSize, List<StageSpec> stages) {

    /** One stage's settings; unset numbers take the stage type's defaults. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record StageSpec(String type, String name, String data, Integer epochs, Integer batch, Double lr,
            Integer maxImages) {

        public String displayName() {
            return name != null ? name : type;
        }
    }

    public static final List<String> BUILT_IN = List.of("enhanced", "quick-enhanced", "tissue-only", "ssl-only", "tissue-ssl", "autoencoder-only",
            "masks-only");

    /** Reads a recipe file, or a built-in recipe by name. */
    public static Recipe load(String nameOrPath) {
        Path p = Path.of(nameOrPath);
        Recipe r;
        if (Files.isRegularFile(p)) {
            try {
                r = Json.YAML.readValue(p.toFile(), Recipe.class);
            } catch (IOException e) {
                throw new UserException(p + ": not a valid recipe (" + e.getMessage().lines().findFirst().orElse("") + ")");
            }
        } else if (BUILT_IN.contains(nameOrPath)) {
            try (InputStream in = Recipe.class.getResourceAsStream("/recipes/" + nameOrPath + ".yaml")) {
                r = Json.YAML.readValue(in, Recipe.class);
            } catch (IOException e) {
                throw new IllegalStateException("built-in recipe " + nameOrPath + " unreadable", e);
            }
        } else {
            throw new UserException(nameOrPath + ": recipe file not found (built-in recipes: " + BUILT_IN + ")");
        }
        if (r == null || r.stages() == null || r.stages().isEmpty()) {
            throw new UserException(nameOrPath + ": recipe lists no stages");
        }
        for (StageSpec s : r.stages()) {
            if (s.type() == null || s.data() == null) {
                throw new UserException(nameOrPath + ": every stage needs 'type' and 'data'");
            }
        }
        return r;
    }
}
