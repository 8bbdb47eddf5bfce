package org.wbctransfer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;

/**
 * {@code wbc pretrain} on an unlabeled folder holding copies of real Raabin images: refused with
 * one line before any stage trains, and with {@code --manifest} run on all but the test rows.
 */
class PretrainGuardTest {

    @TempDir
    Path tmp;

    /** Per class the first 3 Raabin images (train rows of the manifest) and the next 2 (test rows), copied flat. */
    private Path folderWithCopies() throws IOException {
        Path root = Files.createDirectories(tmp.resolve("ssl"));
        for (String c : TestData.CLASSES) {
            for (String rel : TestData.firstImages(c, 5)) {
                Path src = TestData.raabin().resolve(rel);
                Files.copy(src, root.resolve(src.getFileName().toString()));
            }
        }
        return root;
    }

    private Path recipe(String stages) throws IOException {
        return Files.writeString(tmp.resolve("recipe.yaml"), "name: guard\nimageSize: 32\nstages:\n" + stages);
    }

    @Test
    void aFolderOfClassificationImagesIsRefusedBeforeAnyStageTrains() throws Exception {
        Path ssl = folderWithCopies();
        // The tissue stage first: it must not train for nothing before the SimSiam stage is refused.
        Path recipe = recipe("  - {type: tissue, name: camelyon, data: '" + TestData.datasets().resolve("pcam-camelyon16")
                + "', epochs: 1, batch: 16, maxImages: 32}\n"
                + "  - {type: simsiam, name: ssl, data: '" + ssl + "', epochs: 1, batch: 4}\n");
        Path out = tmp.resolve("pre");
        WbcCliTest.Result r = WbcCliTest.run("pretrain", "--recipe", recipe.toString(), "--out", out.toString(),
                "--cache-dir", tmp.resolve("cache").toString(), "--no-progress");

        String line = BadInputCommandsTest.userError(r);
        assertThat(line).startsWith("wbc: error: " + ssl + ": 25 of its 25 images are images of the classification data ")
                .contains("--manifest");
        assertThat(out).doesNotExist();
    }

    @Test
    void withAManifestTheTestRowsAreDroppedAndRecordedInTheBundle() throws Exception {
        Path ssl = folderWithCopies();
        Path manifest = TestData.manifest(Files.createDirectories(tmp.resolve("split")), 3, 2);
        Path recipe = recipe("  - {type: autoencoder, name: ae, data: '" + ssl + "', epochs: 1, batch: 4,"
                + " classificationData: '" + TestData.raabin() + "'}\n");
        Path out = tmp.resolve("pre");
        WbcCliTest.Result r = WbcCliTest.run("pretrain", "--recipe", recipe.toString(), "--out", out.toString(),
                "--manifest", manifest.toString(), "--cache-dir", tmp.resolve("cache").toString(), "--no-progress");
        assertThat(r.code()).as(r.err()).isZero();

        JsonNode stage = new ObjectMapper().readTree(out.resolve("backbone/metadata.json").toFile()).path("stages").get(0);
        assertThat(stage.path("metrics").path("classificationImages").asInt()).isEqualTo(25);
        assertThat(stage.path("metrics").path("testImagesDropped").asInt()).isEqualTo(10);
        // 15 train copies left, one of them held out by the autoencoder.
        assertThat(stage.path("images").asInt() + stage.path("metrics").path("heldOutImages").asInt()).isEqualTo(15);
        assertThat(stage.path("settings").path("manifest").asText()).isEqualTo(manifest.toString());
        assertThat(stage.path("settings").path("manifestSha256").asText())
                .isEqualTo(org.wbctransfer.data.SplitManifest.read(manifest).sha256());
        assertThat(stage.path("settings").path("classificationData").asText()).isEqualTo(TestData.raabin().toString());
        List<String> lines = new ArrayList<>(r.err().lines().filter(l -> l.contains("dropped the 10 test rows")).toList());
        assertThat(lines).as(r.err()).hasSize(2); // the up-front check and the stage's load
    }
}
