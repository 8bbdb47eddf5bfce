package org.wbctransfer.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.wbctransfer.TestData;
import org.wbctransfer.cli.WbcCli;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelInput;
import picocli.CommandLine;

/** The HTTP API end to end: a tiny trained bundle, real Raabin cell images, a real loopback socket. */
class ServeTest {

    static final long MAX_UPLOAD = 1_000_000;

    static Path bundle;
    static Classifier classifier;
    static WbcServer server;
    static Http http;
    /** One unseen image per class. */
    static List<Path> cells = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        bundle = TestBundle.get();
        classifier = Classifier.load(bundle);
        server = WbcServer.start(classifier, new ServeOptions("127.0.0.1", 0, 2, MAX_UPLOAD));
        http = new Http(server.url());
        for (String c : TestData.CLASSES) {
            cells.add(TestData.raabin().resolve(TestData.firstImages(c, 13).get(12)));
        }
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (classifier != null) {
            classifier.close();
        }
    }

    @Test
    void predictsRealCellsWithTheSameProbabilitiesAsTheClassifier() throws Exception {
        ModelInput input = classifier.input();
        for (Path cell : cells) {
            Http.Reply r = http.postMultipart("/api/predict", "image", cell.getFileName().toString(), Files.readAllBytes(cell));
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(r.contentType()).startsWith("application/json");
            JsonNode j = r.json();
            assertThat(j.path("file").asText()).isEqualTo(cell.getFileName().toString());
            float[] expected = classifier.probabilities(input.load(cell), 1, input.size())[0];
            assertPrediction(j, expected);
            assertThat(j.has("gradcam")).isFalse();
            assertThat(j.has("gradcamLayer")).isFalse();
        }
    }

    @Test
    void aServerWithAConfidenceFloorRefersTheCellsBelowIt() throws Exception {
        ModelInput input = classifier.input();
        float[] tops = new float[cells.size()];
        for (int i = 0; i < cells.size(); i++) {
            float[] p = classifier.probabilities(input.load(cells.get(i)), 1, input.size())[0];
            for (float v : p) {
                tops[i] = Math.max(tops[i], v);
            }
        }
        float[] sorted = tops.clone();
        java.util.Arrays.sort(sorted);
        double floor = (sorted[0] + sorted[sorted.length - 1]) / 2.0;
        try (WbcServer floored = WbcServer.start(classifier, new ServeOptions("127.0.0.1", 0, 1, MAX_UPLOAD, floor))) {
            Http h = new Http(floored.url());
            int referred = 0;
            for (int i = 0; i < cells.size(); i++) {
                Path cell = cells.get(i);
                JsonNode j = h.postMultipart("/api/predict", "image", cell.getFileName().toString(),
                        Files.readAllBytes(cell)).json();
                boolean below = tops[i] < floor;
                assertThat(j.path("referred").asBoolean()).isEqualTo(below);
                assertThat(j.path("predicted").asText()).isEqualTo(below ? "refer" : j.path("mostLikely").asText());
                assertThat(classifier.metadata().classIndex(j.path("mostLikely").asText())).isNotNegative();
                referred += below ? 1 : 0;
            }
            assertThat(referred).isPositive().isLessThan(cells.size());
        }
    }

    @Test
    void acceptsARawImageBodyAndJudgesTheTypeByContentNotName() throws Exception {
        byte[] cell = Files.readAllBytes(cells.get(2));
        Http.Reply raw = http.postRaw("/api/predict?filename=cell.jpg", "image/png", cell); // a JPEG declared as PNG
        assertThat(raw.status()).as(raw.body()).isEqualTo(200);
        assertThat(raw.json().path("file").asText()).isEqualTo("cell.jpg");
        Http.Reply misnamed = http.postMultipart("/api/predict", "image", "notes.txt", cell);
        assertThat(misnamed.status()).as(misnamed.body()).isEqualTo(200);
        assertThat(misnamed.json().path("probabilities")).isEqualTo(raw.json().path("probabilities"));
    }

    @Test
    void gradCamComesBackAsAPngDataUrlOfTheOverlay() throws Exception {
        Path cell = cells.get(4);
        Http.Reply r = http.postMultipart("/api/predict?gradcam=true", "image", "cell.jpg", Files.readAllBytes(cell));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode j = r.json();
        ModelInput input = classifier.input();
        assertPrediction(j, classifier.probabilities(input.load(cell), 1, input.size())[0]);
        assertThat(j.path("gradcamLayer").asText()).isEqualTo("layer2");
        assertThat(j.path("gradcamResolution").asText()).isEqualTo("layer2, 8x8 map at 64 px, upsampled to 256 px");
        String url = j.path("gradcam").asText();
        assertThat(url).startsWith("data:image/png;base64,");
        byte[] png = Base64.getDecoder().decode(url.substring("data:image/png;base64,".length()));
        BufferedImage overlay = ImageIO.read(new ByteArrayInputStream(png));
        assertThat(overlay.getWidth()).isEqualTo(InferencePool.OVERLAY_SIZE);
        assertThat(overlay.getHeight()).isEqualTo(InferencePool.OVERLAY_SIZE);
        // A heat map over the cell, not a blank or uniform picture.
        assertThat(distinctColours(overlay)).isGreaterThan(100);
        // The preview is the overlay's base, the centre square without the map, in any upload's format (TIFF too).
        Path tiff = Files.createTempFile("wbc-serve-", ".tif");
        ImageIO.write(ImageIO.read(cell.toFile()), "tiff", tiff.toFile());
        Http.Reply t = http.postMultipart("/api/predict?gradcam=true", "image", "cell.tif", Files.readAllBytes(tiff));
        assertThat(t.status()).as(t.body()).isEqualTo(200);
        String preview = t.json().path("preview").asText();
        assertThat(preview).startsWith("data:image/png;base64,");
        BufferedImage base = ImageIO.read(new ByteArrayInputStream(
                Base64.getDecoder().decode(preview.substring("data:image/png;base64,".length()))));
        assertThat(base.getWidth()).isEqualTo(InferencePool.OVERLAY_SIZE);
        BufferedImage expected = org.wbctransfer.data.ImageDecoder.resizeSquare(ImageIO.read(cell.toFile()),
                InferencePool.OVERLAY_SIZE);
        assertThat(base.getRGB(128, 128) & 0xffffff).isEqualTo(expected.getRGB(128, 128) & 0xffffff);
        assertThat(http.postMultipart("/api/predict", "image", "cell.jpg", Files.readAllBytes(cell)).json().has("preview"))
                .isFalse();
        // A 10x10 image is answered, with a warning that says why the answer may be unreliable.
        BufferedImage tiny = new BufferedImage(10, 10, BufferedImage.TYPE_INT_RGB);
        java.io.ByteArrayOutputStream png10 = new java.io.ByteArrayOutputStream();
        ImageIO.write(tiny, "png", png10);
        Http.Reply small = http.postMultipart("/api/predict", "image", "tiny.png", png10.toByteArray());
        assertThat(small.status()).as(small.body()).isEqualTo(200);
        assertThat(small.json().path("warning").asText()).startsWith("tiny.png: only 10x10 pixels, upscaled to 64 px");
        Files.delete(tiff);
    }

    @Test
    void modelRouteDescribesTheBundle() throws Exception {
        Http.Reply r = http.get("/api/model");
        assertThat(r.status()).isEqualTo(200);
        JsonNode j = r.json();
        List<String> classes = new ArrayList<>();
        j.path("classes").forEach(c -> classes.add(c.asText()));
        assertThat(classes).isEqualTo(TestData.CLASSES);
        assertThat(j.path("inputSize").asInt()).isEqualTo(64);
        assertThat(j.path("intendedUse").asText()).contains("Not a medical device");
        assertThat(j.path("metrics").path("testAccuracy").isNumber()).isTrue();
        assertThat(j.path("metrics").path("testImages").asInt()).isEqualTo(10);
        assertThat(j.path("maxUploadBytes").asLong()).isEqualTo(MAX_UPLOAD);
        // Where the bundle came from on the server's disk is none of a client's business.
        assertThat(r.body()).doesNotContain(bundle.getParent().toString());
    }

    @Test
    void pageIsServedFromTheClasspathAndLoadsNothingFromElsewhere() throws Exception {
        Http.Reply r = http.get("/");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.contentType()).startsWith("text/html");
        assertThat(r.body()).contains("id=\"file\"", "id=\"bars\"", "id=\"overlay\"", "id=\"result-class\"")
                .doesNotContain("http://", "https://", "src=\"/", "<link");
        assertThat(http.get("/serve/index.html").status()).isEqualTo(404);
        assertThat(http.get("/../pom.xml").status()).isIn(400, 404);
        Http.Reply missing = http.get("/api/nothing");
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.json().path("error").asText()).contains("/api/nothing");
    }

    @Test
    void badRequestsGetClearJsonErrorsAndDoNotHarmLaterRequests() throws Exception {
        byte[] cell = Files.readAllBytes(cells.get(0));
        byte[] noise = new byte[20_000];
        new Random(11).nextBytes(noise);
        noise[0] = 0; // no accidental image magic

        assertError(http.postMultipart("/api/predict", "image", "big.jpg", new byte[(int) (2 * MAX_UPLOAD)]), 413, "limit is 1000000 bytes (1.0 MB)");
        assertError(http.postRaw("/api/predict", "image/jpeg", new byte[(int) MAX_UPLOAD + 1]), 413, "limit is 1000000 bytes (1.0 MB)");
        // Within the multipart allowance for the whole request, one byte over for the image itself.
        assertError(http.postMultipart("/api/predict", "image", "big.jpg", new byte[(int) MAX_UPLOAD + 1]), 413, "limit is 1000000 bytes (1.0 MB)");
        assertError(http.postMultipart("/api/predict", "image", "noise.jpg", noise), 415, "not a recognised image format");
        assertError(http.postRaw("/api/predict", "application/octet-stream", noise), 415, "not a recognised image format");
        assertError(http.postRaw("/api/predict", "text/plain", "hello".getBytes()), 415, "content type");
        assertError(http.postMultipart("/api/predict", "picture", "cell.jpg", cell), 400, "'image'");
        assertError(http.postMultipart("/api/predict", "image", "empty.jpg", new byte[0]), 400, "empty");
        assertError(http.postRaw("/api/predict", "image/jpeg", new byte[0]), 400, "empty");
        assertError(http.post("/api/predict"), 400, "empty request");
        assertError(http.postRaw("/api/predict", "multipart/form-data; boundary=x", "garbage".getBytes()), 400, "multipart");
        assertError(http.postMultipart("/api/predict?gradcam=maybe", "image", "cell.jpg", cell), 400, "gradcam");
        assertError(http.postMultipart("/api/predict", "image", "half.jpg", Arrays.copyOf(cell, cell.length / 2)), 422, "truncated");

        Http.Reply after = http.postMultipart("/api/predict?gradcam=true", "image", "cell.jpg", cell);
        assertThat(after.status()).as(after.body()).isEqualTo(200);
        assertThat(after.json().path("predicted").asText()).isIn(TestData.CLASSES);
    }

    @Test
    void twoHundredConcurrentRequestsAllSucceedWithTheSequentialAnswers() throws Exception {
        List<byte[]> images = new ArrayList<>();
        List<JsonNode> sequential = new ArrayList<>();
        for (Path cell : cells) {
            byte[] b = Files.readAllBytes(cell);
            images.add(b);
            sequential.add(http.postMultipart("/api/predict", "image", "c.jpg", b).json().path("probabilities"));
        }
        ExecutorService clients = Executors.newFixedThreadPool(16);
        try {
            List<Future<Http.Reply>> replies = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                byte[] image = images.get(i % images.size());
                // Some Grad-CAMs in the mix: they must take turns without stalling or corrupting the rest.
                String path = i % 20 == 0 ? "/api/predict?gradcam=true" : "/api/predict";
                replies.add(clients.submit(() -> http.postMultipart(path, "image", "c.jpg", image)));
            }
            Iterator<Future<Http.Reply>> it = replies.iterator();
            for (int i = 0; it.hasNext(); i++) {
                Http.Reply r = it.next().get(5, TimeUnit.MINUTES);
                assertThat(r.status()).as("request %d: %s", i, r.body()).isEqualTo(200);
                JsonNode p = r.json().path("probabilities");
                JsonNode expected = sequential.get(i % images.size());
                for (String c : TestData.CLASSES) {
                    assertThat(p.path(c).asDouble()).as("request %d, %s", i, c).isCloseTo(expected.path(c).asDouble(), within(1e-5));
                }
            }
        } finally {
            clients.shutdownNow();
        }
    }

    @Test
    void cliRefusesBadOptionsAndATakenPortWithOneLine() throws Exception {
        assertThat(cli("serve", bundle.toString(), "--threads", "0")).startsWith("2 wbc: error: --threads");
        assertThat(cli("serve", bundle.toString(), "--max-upload-mb", "0")).startsWith("2 wbc: error: --max-upload-mb");
        assertThat(cli("serve", bundle.resolve("nope").toString())).startsWith("2 wbc: error: ").contains("model not found");
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String out = cli("serve", bundle.toString(), "--port", String.valueOf(taken.getLocalPort()));
            assertThat(out).startsWith("2 wbc: error: cannot listen on 127.0.0.1:" + taken.getLocalPort()
                    + " (port " + taken.getLocalPort() + " is already in use)");
            assertThat(out.strip().lines().count()).isEqualTo(1);
        }
        // Not "Port already in use": the name does not resolve.
        String unknown = cli("serve", bundle.toString(), "--host", "no.such.host.invalid", "--port", "0");
        assertThat(unknown).isEqualTo("2 wbc: error: --host no.such.host.invalid: cannot be resolved to an address\n");
        // Resolves, but is no address of this machine (TEST-NET-1, RFC 5737).
        String foreign = cli("serve", bundle.toString(), "--host", "192.0.2.1", "--port", "0");
        assertThat(foreign).startsWith("2 wbc: error: cannot listen on 192.0.2.1:0 (192.0.2.1 is not an address of this machine)");
    }

    @Test
    void wrongMethodsAndPathsClimbingOutOfTheRootGetTheApisJsonErrors() throws Exception {
        Http.Reply get = http.get("/api/predict");
        assertError(get, 405, "GET is not allowed on /api/predict; use POST");
        assertError(http.method("DELETE", "/api/model"), 405, "use GET");
        assertError(http.method("PUT", "/api/predict"), 405, "use POST");
        for (String target : List.of("/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/api/..%2f..%2f..%2fetc%2fpasswd",
                "/static/%2e%2e%2f%2e%2e%2fetc/passwd")) {
            Http.Reply r = http.rawGet(target);
            assertThat(r.status()).as(target + ": " + r.body()).isIn(400, 404);
            assertThat(r.contentType()).as(target).startsWith("application/json");
            assertThat(r.json().path("error").asText()).as(target).isNotEmpty();
            assertThat(r.body()).doesNotContain("root:").doesNotContain("<html");
        }
    }

    /** Exit code and stderr of the CLI. */
    private static String cli(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cl = WbcCli.newCommandLine();
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return code + " " + err;
    }

    private static void assertPrediction(JsonNode j, float[] expected) {
        JsonNode probs = j.path("probabilities");
        List<String> order = new ArrayList<>();
        probs.fieldNames().forEachRemaining(order::add);
        assertThat(order).isEqualTo(TestData.CLASSES);
        double sum = 0;
        int best = 0;
        for (int k = 0; k < order.size(); k++) {
            double p = probs.path(order.get(k)).asDouble();
            assertThat(p).isBetween(0.0, 1.0).isCloseTo(expected[k], within(1e-5));
            sum += p;
            if (p > probs.path(order.get(best)).asDouble()) {
                best = k;
            }
        }
        assertThat(sum).isCloseTo(1.0, within(1e-4));
        assertThat(j.path("predicted").asText()).isEqualTo(order.get(best));
        assertThat(j.path("probability").asDouble()).isEqualTo(probs.path(order.get(best)).asDouble());
    }

    private static void assertError(Http.Reply r, int status, String message) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.contentType()).startsWith("application/json");
        assertThat(r.json().path("error").asText()).contains(message);
    }

    private static int distinctColours(BufferedImage img) {
        Set<Integer> seen = new HashSet<>();
        for (int y = 0; y < img.getHeight(); y += 2) {
            for (int x = 0; x < img.getWidth(); x += 2) {
                seen.add(img.getRGB(x, y));
            }
        }
        return seen.size();
    }
}
