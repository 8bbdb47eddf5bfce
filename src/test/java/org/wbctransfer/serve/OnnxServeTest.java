package org.wbctransfer.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.wbctransfer.TestData;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelInput;
import org.wbctransfer.model.OnnxExport;

/** wbc serve on ONNX Runtime (issue 20): the answers of the weights, also under concurrent requests. */
class OnnxServeTest {

    static Classifier onnx;
    static Classifier torch;
    static WbcServer server;
    static Http http;
    static List<Path> cells = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        Path bundle = TestBundle.get();
        torch = Classifier.load(bundle);
        onnx = Classifier.load(bundle).useOnnx(bundle.resolve(OnnxExport.FILE));
        server = WbcServer.start(onnx, new ServeOptions("127.0.0.1", 0, 2, 1_000_000));
        http = new Http(server.url());
        for (String c : TestData.CLASSES) {
            cells.add(TestData.raabin().resolve(TestData.firstImages(c, 14).get(13)));
        }
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        onnx.close();
        torch.close();
    }

    @Test
    void answersAsTheWeightsDoAndSaysWhichEngine() throws Exception {
        assertThat(http.get("/api/model").json().path("engine").asText()).isEqualTo("onnx");
        ModelInput input = torch.input();
        for (Path cell : cells) {
            Http.Reply r = http.postMultipart("/api/predict", "image", "c.jpg", Files.readAllBytes(cell));
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            float[] want = torch.probabilities(input.load(cell), 1, input.size())[0];
            JsonNode p = r.json().path("probabilities");
            for (int k = 0; k < want.length; k++) {
                assertThat(p.path(TestData.CLASSES.get(k)).asDouble()).isCloseTo(want[k], within(1e-4));
            }
            assertThat(r.json().path("predicted").asText()).isEqualTo(TestData.CLASSES.get(Classifier.argMax(want)));
        }
    }

    @Test
    void concurrentRequestsShareTheSessionAndGetTheSequentialAnswers() throws Exception {
        List<byte[]> images = new ArrayList<>();
        List<JsonNode> sequential = new ArrayList<>();
        for (Path cell : cells) {
            byte[] b = Files.readAllBytes(cell);
            images.add(b);
            sequential.add(http.postMultipart("/api/predict", "image", "c.jpg", b).json().path("probabilities"));
        }
        ExecutorService clients = Executors.newFixedThreadPool(8);
        try {
            List<Future<Http.Reply>> replies = new ArrayList<>();
            for (int i = 0; i < 60; i++) {
                byte[] image = images.get(i % images.size());
                String path = i % 15 == 0 ? "/api/predict?gradcam=true" : "/api/predict";
                replies.add(clients.submit(() -> http.postMultipart(path, "image", "c.jpg", image)));
            }
            for (int i = 0; i < replies.size(); i++) {
                Http.Reply r = replies.get(i).get(5, TimeUnit.MINUTES);
                assertThat(r.status()).as("request %d: %s", i, r.body()).isEqualTo(200);
                JsonNode expected = sequential.get(i % images.size());
                for (String c : TestData.CLASSES) {
                    assertThat(r.json().path("probabilities").path(c).asDouble()).as("request %d, %s", i, c)
                            .isCloseTo(expected.path(c).asDouble(), within(1e-4));
                }
            }
        } finally {
            clients.shutdownNow();
        }
    }
}
