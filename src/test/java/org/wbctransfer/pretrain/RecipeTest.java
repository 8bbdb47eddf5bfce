package org.wbctransfer.pretrain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;

class RecipeTest {

    @TempDir
    Path tmp;

    @Test
    void unlabeledStagesTakeAManifestAndOtherStagesRefuseOne() throws Exception {
        Path ok = Files.writeString(tmp.resolve("ok.yaml"), "name: x\nstages:\n"
                + "  - {type: tissue, data: a}\n"
                + "  - {type: simsiam, data: b, manifest: split.csv, classificationData: raabin}\n"
                + "  - {type: autoencoder, data: c}\n");
        Recipe r = Recipe.load(ok.toString());
        assertThat(r.stages().get(1).manifest()).isEqualTo("split.csv");
        assertThat(r.stages().get(1).classificationData()).isEqualTo("raabin");

        // --manifest: every unlabeled stage without its own, nothing else.
        Recipe m = r.withManifest("other.csv");
        assertThat(m.stages()).extracting(Recipe.StageSpec::manifest).containsExactly(null, "split.csv", "other.csv");

        Path bad = Files.writeString(tmp.resolve("bad.yaml"), "name: x\nstages:\n"
                + "  - {type: masks, name: seg, data: a, manifest: split.csv}\n");
        assertThatThrownBy(() -> Recipe.load(bad.toString())).isInstanceOf(UserException.class)
                .hasMessage(bad + ": stage 'seg' (masks) takes no 'manifest' or 'classificationData'; only [simsiam,"
                        + " autoencoder] stages do");
    }

    @Test
    void aStageWithoutTheNewSettingsKeepsItsChainKey() throws Exception {
        // The chain key hashes each stage's JSON: unset settings must not appear in it, or every
        // finished stage bundle would be retrained.
        String json = Json.MAPPER.writeValueAsString(new Recipe.StageSpec(StageKind.SIMSIAM, "ssl", "d", 4, 64, 1e-3, 4000));
        assertThat(json).doesNotContain("manifest").doesNotContain("classificationData")
                .isEqualToIgnoringWhitespace("{\"type\":\"simsiam\",\"name\":\"ssl\",\"data\":\"d\",\"epochs\":4,"
                        + "\"batch\":64,\"lr\":0.001,\"maxImages\":4000}");
        String with = Json.MAPPER.writeValueAsString(
                new Recipe.StageSpec(StageKind.SIMSIAM, "ssl", "d", 4, 64, 1e-3, 4000, null, "split.csv", null, null));
        assertThat(with).contains("\"manifest\" : \"split.csv\"").doesNotContain("classificationData");
    }
}
