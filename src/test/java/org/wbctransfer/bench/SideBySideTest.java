package org.wbctransfer.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Parsing the peer's JSON and the side-by-side table; fixed numbers, nothing is timed. */
class SideBySideTest {

    static final String PEER = """
            some stray line
            {"peer": "pytorch", "torch": "1.13.0a0", "torchvision": "0.14.1a0", "threads": 2, "interop_threads": 1,
             "batch": 64, "steps": 20, "warmup": 4, "optimizer": "adamw", "channels_last": false,
             "bf16_infer": false, "autocast_bf16": false, "new_field": 1,
             "sizes": [
               {"size": 64, "batch": 64, "pipeline_img_s": 2000.0, "pipeline_source": "cache",
                "train_img_s": 100.0, "infer_img_s": 400.0, "peak_rss_mib": 800.0},
               {"size": 96, "batch": 64, "pipeline_img_s": 1000.0, "train_img_s": 50.0, "infer_img_s": 200.0,
                "peak_rss_mib": 1000.0}],
             "peak_rss_mib": 1000.0}
            """;

    static List<SideBySide.Ours> ours() {
        return List.of(new SideBySide.Ours(64, 64, 9000, 220, 700, 1000, 4000),
                new SideBySide.Ours(96, 64, 3500, 125, 400, 500, 5000),
                new SideBySide.Ours(128, 64, 2700, 54, 145, Double.NaN, 5400));
    }

    @Test
    void parsesThePeersJson() {
        SideBySide.Peer p = SideBySide.parsePeer(PEER);
        assertThat(p.torch()).isEqualTo("1.13.0a0");
        assertThat(p.threads()).isEqualTo(2);
        assertThat(p.sizes()).hasSize(2);
        assertThat(p.at(64).train()).isEqualTo(100.0);
        assertThat(p.at(64).pipelineSource()).isEqualTo("cache");
        assertThat(p.at(96).pipelineSource()).isNull();
        assertThat(p.at(128)).isNull();
    }

    @Test
    void ratiosAreOursOverPyTorch() {
        SideBySide t = new SideBySide(ours(), SideBySide.parsePeer(PEER), Map.of());
        List<SideBySide.Cell> c64 = t.cells(ours().get(0));
        assertThat(c64).extracting(SideBySide.Cell::metric)
                .containsExactly("pipeline img/s", "train img/s", "infer img/s", "infer ONNX img/s", "pipeline/train",
                        "peak RSS MiB");
        assertThat(c64.get(0).ratio()).isCloseTo(4.5, within(1e-9));
        assertThat(c64.get(1).ratio()).isCloseTo(2.2, within(1e-9));
        assertThat(c64.get(2).ratio()).isCloseTo(1.75, within(1e-9));
        assertThat(c64.get(3).ratio()).isCloseTo(2.5, within(1e-9));
        assertThat(c64.get(4).ours()).isCloseTo(9000.0 / 220, within(1e-9));
        assertThat(c64.get(4).peer()).isCloseTo(20.0, within(1e-9));
        assertThat(c64.get(4).ratio()).isNull();
        assertThat(c64.get(5).ratio()).isCloseTo(5.0, within(1e-9));
        // A size the peer did not run: ours only.
        List<SideBySide.Cell> c128 = t.cells(ours().get(2));
        assertThat(c128).allSatisfy(c -> {
            assertThat(c.peer()).isNull();
            assertThat(c.ratio()).isNull();
        });
    }

    @Test
    void withoutThePipelineOnlyModelFiguresAreCompared() {
        String peer = """
                {"peer": "pytorch", "torch": "1.13.1", "sizes": [
                  {"size": 96, "batch": 32, "train_img_s": 50.0, "infer_img_s": 200.0, "peak_rss_mib": 600.0}]}
                """;
        SideBySide.Ours o = new SideBySide.Ours(96, 32, Double.NaN, 60, 180, 250, 900);
        SideBySide t = new SideBySide(List.of(o), SideBySide.parsePeer(peer), Map.of());
        List<SideBySide.Cell> c = t.cells(o);
        assertThat(c.get(0).ratio()).isNull();
        assertThat(c.get(1).ratio()).isCloseTo(1.2, within(1e-9));
        assertThat(c.get(3).ratio()).isCloseTo(1.25, within(1e-9));
        assertThat(c.get(5).ratio()).isCloseTo(1.5, within(1e-9));
        // No pipeline figure, so no verdict on it rather than a NaN one.
        assertThat(t.targetLine()).isNull();
        assertThat(t.markdown()).contains("| 96 | 32 | pipeline img/s | - | - | - |")
                .contains("| 96 | 32 | peak RSS MiB | 900.0 | 600.0 | 1.50x |").doesNotContain("NaN");
    }

    @Test
    void textAndMarkdownShowTheRatiosAndTheTarget() {
        SideBySide t = new SideBySide(ours(), SideBySide.parsePeer(PEER), Map.of("threads", 2));
        String text = t.text();
        assertThat(text).contains("PyTorch 1.13.0a0").contains("ours/PyTorch");
        assertThat(text.lines().filter(l -> l.startsWith("64 ") && l.contains("train img/s")).findFirst().orElseThrow())
                .contains("220.0").contains("100.0").contains("2.20x");
        assertThat(text.lines().filter(l -> l.startsWith("96 ") && l.contains("peak RSS")).findFirst().orElseThrow())
                .contains("5,000").contains("1,000").contains("5.00x");
        assertThat(text).contains("pipeline/train at 96 px: 28.0x (target >= 5x: met)");
        String md = t.markdown();
        assertThat(md).contains("| 64 | 64 | pipeline img/s | 9,000 | 2,000 | 4.50x |");
        assertThat(md).contains("| 128 | 64 | infer img/s | 145.0 | - | - |");
        assertThat(md).contains("| 64 | 64 | infer ONNX img/s | 1,000 | 400.0 | 2.50x |");
        assertThat(md).contains("| 128 | 64 | infer ONNX img/s | - | - | - |");
        assertThat(md).contains("- threads: 2");
    }

    @Test
    void targetNotMetIsSaid() {
        SideBySide t = new SideBySide(List.of(new SideBySide.Ours(96, 64, 400, 100, 300, 400, 1)), null, Map.of());
        assertThat(t.targetLine()).isEqualTo("pipeline/train at 96 px: 4.0x (target >= 5x: NOT met)");
        assertThat(new SideBySide(List.of(ours().get(0)), null, Map.of()).targetLine()).isNull();
    }

    @Test
    void jsonHoldsOursPeerAndRatio() {
        SideBySide t = new SideBySide(ours(), SideBySide.parsePeer(PEER), Map.of());
        Map<String, Object> doc = t.json();
        @SuppressWarnings("unchecked")
        Map<String, Object> row = ((List<Map<String, Object>>) doc.get("sizes")).get(1);
        @SuppressWarnings("unchecked")
        Map<String, Object> infer = (Map<String, Object>) row.get("infer_img_s");
        assertThat(row.get("size")).isEqualTo(96);
        assertThat(infer.get("ours")).isEqualTo(400.0);
        assertThat(infer.get("pytorch")).isEqualTo(200.0);
        assertThat(infer.get("ratio")).isEqualTo(2.0);
    }

    @Test
    void badPeerOutputIsRejected() {
        assertThatThrownBy(() -> SideBySide.parsePeer("Traceback ...")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SideBySide.parsePeer("{\"sizes\": [")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SideBySide.parsePeer("{\"torch\": \"2\"}")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void peerCommandMirrorsOurSettings() {
        List<String> cmd = PeerRunner.command(Path.of("/usr/bin/python3"), Path.of("bench/peer.py"), new int[] {64, 96},
                32, 10, 2, 2, 512, Map.of(64, Path.of("/tmp/c64.bin")), true, List.of("--bf16-infer"));
        assertThat(String.join(" ", cmd)).isEqualTo("/usr/bin/python3 bench/peer.py --sizes 64,96 --batch 32 --steps 10"
                + " --warmup 2 --threads 2 --pipeline-images 512 --cache-file 64=/tmp/c64.bin --channels-last"
                + " --bf16-infer");
    }
}
