package org.wbctransfer.pretrain;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
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
 *
 * <p>A simsiam or autoencoder stage on a folder holding images of the classification data
 * needs {@code manifest: <split.csv>} (and {@code classificationData:} when that data is not
 * the default); see {@link ClassificationGuard}.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Recipe(String name, Integer imageSize, List<StageSpec> stages) {

    /**
     * One stage's settings; unset numbers take the stage type's defaults.
     *
     * @param classificationData for simsiam and autoencoder stages: the classification data whose
     *     images the folder must not hold (default the project's Raabin train root); see
     *     {@link ClassificationGuard}
     * @param manifest for simsiam and autoencoder stages: the split manifest of that data, whose
     *     test rows are dropped from the folder
     * @param zoomOut for a masks stage: its largest random zoom-out (see {@link MaskStage}); unset is off
     * @param strongColour for a masks stage: its stronger colour jitter (see {@link MaskStage}); unset is off
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record StageSpec(StageKind type, String name, String data, Integer epochs, Integer batch, Double lr,
            Integer maxImages,
            // Left out when unset, so that a chain's key (its stages' JSON) and with it every
            // finished stage bundle stay what they were before these settings existed.
            @JsonInclude(JsonInclude.Include.NON_NULL) String classificationData,
            @JsonInclude(JsonInclude.Include.NON_NULL) String manifest,
            @JsonInclude(JsonInclude.Include.NON_NULL) Double zoomOut,
            @JsonInclude(JsonInclude.Include.NON_NULL) Boolean strongColour) {

        public StageSpec(StageKind type, String name, String data, Integer epochs, Integer batch, Double lr,
                Integer maxImages) {
            this(type, name, data, epochs, batch, lr, maxImages, null, null, null, null);
        }

        public String displayName() {
            return name != null ? name : type.id();
        }

        /** Whether the stage reads a folder of unlabeled images (and is guarded against the classification data). */
        public boolean unlabeled() {
            return type.unlabeled();
        }

        /** This stage with {@code manifest} where it is unlabeled and names none of its own. */
        StageSpec withDefaultManifest(String m) {
            return unlabeled() && manifest == null
                    ? new StageSpec(type, name, data, epochs, batch, lr, maxImages, classificationData, m, zoomOut, strongColour) : this;
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
            if (!s.unlabeled() && (s.manifest() != null || s.classificationData() != null)) {
                throw new UserException(nameOrPath + ": stage '" + s.displayName() + "' (" + s.type()
                        + ") takes no 'manifest' or 'classificationData'; only " + java.util.Arrays.stream(StageKind.values())
                        .filter(StageKind::unlabeled).map(StageKind::id).toList() + " stages do");
            }
        }
        return r;
    }

    /**
     * This recipe with {@code manifest} as the split manifest of every simsiam and autoencoder
     * stage that names none ({@code wbc pretrain --manifest}).
     */
    public Recipe withManifest(String manifest) {
        return new Recipe(name, imageSize, stages.stream().map(s -> s.withDefaultManifest(manifest)).toList());
    }
}
