package org.wbctransfer.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.wbctransfer.evaluation.ClassificationMetrics;
import org.wbctransfer.evaluation.EvaluationReport;
import org.wbctransfer.util.Json;

/**
 * Every experiment report committed under docs/ traces to committed artifacts: its results.md is
 * exactly what its results.json rebuilds, and every run the JSON lists has its config, provenance
 * and test metrics committed beside it, equal to the figures the JSON holds.
 */
class CommittedReportsTest {

    private static final Path DOCS = Path.of("docs");

    private static List<Path> reports() throws IOException {
        try (Stream<Path> files = Files.walk(DOCS)) {
            return files.filter(p -> p.getFileName().toString().equals(ExperimentReport.RESULTS_MD)).sorted().toList();
        }
    }

    @Test
    void docsHoldReports() throws IOException {
        assertThat(reports()).as("committed reports under docs/").isNotEmpty();
    }

    @Test
    void everyCommittedResultsMdIsRebuiltFromItsResultsJson() throws IOException {
        for (Path md : reports()) {
            Path json = md.resolveSibling(ExperimentReport.RESULTS_JSON);
            assertThat(json).as("%s needs the results.json it was made from", md).isRegularFile();
            assertThat(ExperimentReport.markdownFromJson(json)).as("%s rebuilt from %s", md, json)
                    .isEqualTo(Files.readString(md));
        }
    }

    @Test
    void everyRunOfACommittedReportHasItsArtifactsAndTheSameFigures() throws IOException {
        for (Path md : reports()) {
            Path dir = md.getParent();
            JsonNode root = Json.MAPPER.readTree(dir.resolve(ExperimentReport.RESULTS_JSON).toFile());
            assertThat(root.get("runs")).as("%s lists runs", md).isNotEmpty();
            for (JsonNode run : root.get("runs")) {
                Path runDir = dir.resolve(run.get("runDir").asText()).normalize();
                assertThat(runDir).as("run directory of %s", md).startsWith(dir);
                for (String f : List.of("config.json", "provenance.json", "summary.csv")) {
                    assertThat(runDir.resolve(f)).as("%s of %s", f, runDir).isRegularFile();
                }
                ClassificationMetrics test = EvaluationReport.readJson(runDir.resolve("eval-test/metrics.json"));
                assertThat(Json.MAPPER.treeToValue(run.get("test"), ClassificationMetrics.class))
                        .as("test metrics of %s", runDir).isEqualTo(test);
                JsonNode provenance = Json.MAPPER.readTree(runDir.resolve("provenance.json").toFile());
                assertThat(provenance.get("manifestSeed").asLong()).as("split seed of %s", runDir)
                        .isEqualTo(run.get("splitSeed").asLong());
                assertThat(provenance.get("seed").asLong()).as("seed of %s", runDir).isEqualTo(run.get("seed").asLong());
                assertThat(provenance.get("subset").asText()).isEqualTo(run.get("subset").asText());
                JsonNode outside = run.get("outside");
                if (outside != null) {
                    for (var it = outside.fieldNames(); it.hasNext(); ) {
                        String set = it.next();
                        assertThat(Json.MAPPER.treeToValue(outside.get(set), ClassificationMetrics.class))
                                .as("eval-%s of %s", set, runDir)
                                .isEqualTo(EvaluationReport.readJson(runDir.resolve("eval-" + set + "/metrics.json")));
                    }
                }
            }
        }
    }
}
