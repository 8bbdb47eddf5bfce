package org.wbctransfer.serve;

import io.javalin.Javalin;
import io.javalin.http.Context;
import jakarta.servlet.MultipartConfigElement;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.Part;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.wbctransfer.data.ImageDecoder;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.evaluation.DifferentialCount;
import org.wbctransfer.model.ModelMetadata;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.Png;
import org.wbctransfer.util.UserException;

/**
 * The HTTP face of a model bundle: {@code POST /api/predict} classifies one image,
 * {@code GET /api/model} describes the model, {@code GET /} is a page to try it in a browser.
 * The only content served besides JSON is the page itself, read once from the classpath; no route
 * maps a request to a file.
 */
public final class WbcServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WbcServer.class);

    static final String PAGE = "/serve/index.html";
    /** Room for multipart boundaries and part headers around an image of the maximum size. */
    static final long MULTIPART_SLACK = 64 * 1024;
    /** Requests that may wait for a worker; beyond this the server answers 503 at once. */
    static final int QUEUE_PER_WORKER = 16;

    private final Classifier classifier;
    private final ServeOptions options;
    private final InferencePool pool;
    private final byte[] page;
    private final Javalin app;
    private boolean closed;

    private WbcServer(Classifier classifier, ServeOptions options) {
        this.classifier = classifier;
        this.options = options;
        this.page = readPage();
        this.pool = new InferencePool(classifier, options.threads(), QUEUE_PER_WORKER * options.threads());
        this.app = Javalin.create(config -> {
            config.showJavalinBanner = false;
            // Request threads mostly wait for a worker; a bound keeps a flood of connections from
            // growing threads without limit (Jetty queues the rest).
            config.jetty.threadPool = new QueuedThreadPool(Math.max(16, 4 * options.threads()), 4, 60_000);
            // A known route with another method is a 405 (answered below as JSON), not "no such route".
            config.http.prefer405over404 = true;
            JsonErrorHandler jetty = new JsonErrorHandler();
            config.jetty.modifyServer(server -> server.setErrorHandler(jetty));
            config.jetty.modifyServletContextHandler(handler -> handler.setErrorHandler(jetty));
        });
        app.get("/", ctx -> ctx.contentType("text/html; charset=utf-8")
                // The page is self-contained: no scripts, styles or images from anywhere else.
                .header("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline';"
                        + " img-src data:; connect-src 'self'")
                .result(page));
        app.get("/api/model", ctx -> json(ctx, 200, modelInfo()));
        app.post("/api/predict", this::predict);
        app.post("/api/differential", this::differential);
        app.exception(ApiError.class, (e, ctx) -> json(ctx, e.status, Map.of("error", e.getMessage())));
        app.exception(Exception.class, (e, ctx) -> {
            LOG.error("request {} {} failed", ctx.method(), ctx.path(), e);
            json(ctx, 500, Map.of("error", "internal error; see the server log"));
        });
        app.error(404, ctx -> json(ctx, 404, Map.of("error", "no such route: " + ctx.method() + " " + ctx.path())));
        app.error(405, ctx -> {
            String allowed = ALLOWED.getOrDefault(ctx.path(), "GET");
            ctx.header("Allow", allowed);
            json(ctx, 405, Map.of("error", ctx.method() + " is not allowed on " + ctx.path() + "; use " + allowed));
        });
        app.before(ctx -> ctx.header("X-Content-Type-Options", "nosniff"));
    }

    /** The method each route answers, for a 405's Allow header and message. */
    private static final Map<String, String> ALLOWED = Map.of("/", "GET", "/api/model", "GET", "/api/predict", "POST");

    /**
     * Checks that --host names an address; before the model is loaded, so a typo costs no wait.
     * Without it Jetty's bind failure for an unknown name reads "Port already in use".
     */
    public static void resolveHost(String host) {
        try {
            java.net.InetAddress.getByName(host);
        } catch (java.net.UnknownHostException e) {
            throw new UserException("--host " + host + ": cannot be resolved to an address");
        }
    }

    /** Starts serving; the caller keeps ownership of the classifier and closes it after this. */
    public static WbcServer start(Classifier classifier, ServeOptions options) {
        resolveHost(options.host());
        WbcServer s = new WbcServer(classifier, options);
        try {
            s.app.start(options.host(), options.port());
        } catch (RuntimeException e) {
            s.close();
            throw new UserException("cannot listen on " + options.host() + ":" + options.port() + " (" + bindProblem(e, options)
                    + ")", e);
        }
        return s;
    }

    /**
     * What went wrong binding, from the socket's own exception: Javalin words every bind failure
     * as "Port already in use", also for an address that is not this machine's.
     */
    private static String bindProblem(RuntimeException e, ServeOptions options) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (t instanceof java.net.BindException || t instanceof java.net.SocketException) {
                if (m.contains("already in use")) {
                    return "port " + options.port() + " is already in use";
                }
                if (m.contains("Cannot assign requested address")) {
                    return options.host() + " is not an address of this machine";
                }
                if (m.contains("Permission denied")) {
                    return "no permission to listen on port " + options.port();
                }
                return m;
            }
            if (t instanceof java.nio.channels.UnresolvedAddressException) {
                return options.host() + " cannot be resolved to an address";
            }
        }
        return UserException.firstLine(String.valueOf(e.getMessage()));
    }

    public int port() {
        return app.port();
    }

    public String url() {
        String host = options.host().contains(":") ? "[" + options.host() + "]" : options.host();
        return "http://" + host + ":" + port() + "/";
    }

    private void predict(Context ctx) throws Exception {
        boolean gradCam = flag(ctx, "gradcam");
        Upload upload = readUpload(ctx);
        InferencePool.Outcome o;
        try {
            o = pool.classify(upload.bytes(), gradCam);
        } catch (ImageDecoder.BadImageException e) {
            int status = switch (e.problem()) {
                case NOT_AN_IMAGE -> 415;
                case TOO_LARGE -> 413;
                case UNREADABLE -> 422;
            };
            String hint = status == 415 ? "; send a JPEG, PNG, BMP, GIF or TIFF" : "";
            throw new ApiError(status, upload.describe() + ": " + e.getMessage() + hint);
        } catch (InferencePool.BusyException e) {
            ctx.header("Retry-After", "1");
            throw new ApiError(503, e.getMessage());
        }
        List<String> classes = classifier.metadata().classes();
        Map<String, Object> probabilities = new LinkedHashMap<>();
        for (int k = 0; k < classes.size(); k++) {
            probabilities.put(classes.get(k), number(o.probabilities()[k]));
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("file", upload.name());
        float top = o.probabilities()[o.predicted()];
        boolean refer = options.minConfidence() != null && top < options.minConfidence();
        // Below the floor a person decides: the answer is "refer", the model's guess stays visible.
        body.put("predicted", refer ? "refer" : classes.get(o.predicted()));
        if (options.minConfidence() != null) {
            body.put("mostLikely", classes.get(o.predicted()));
            body.put("referred", refer);
        }
        body.put("probability", number(top));
        body.put("probabilities", probabilities);
        List<String> warnings = new java.util.ArrayList<>();
        if (o.smallImage() != null) {
            warnings.add(upload.describe() + ": " + o.smallImage() + ".");
        }
        if (!Double.isNaN(o.ood())) {
            body.put("oodScore", o.ood());
            body.put("outOfDistribution", o.outOfDistribution());
            if (o.outOfDistribution()) {
                warnings.add(OOD_WARNING);
            }
        }
        if (!warnings.isEmpty()) {
            body.put("warning", String.join(" ", warnings));
        }
        if (o.overlay() != null) {
            body.put("gradcam", "data:image/png;base64," + Base64.getEncoder().encodeToString(Png.bytes(o.overlay())));
            body.put("gradcamLayer", o.gradcamLayer());
            body.put("gradcamResolution", o.gradcamResolution());
            // The browser cannot show every upload (TIFF): the page shows this square, the overlay's base.
            body.put("preview", "data:image/png;base64," + Base64.getEncoder().encodeToString(Png.bytes(o.preview())));
        }
        json(ctx, 200, body);
    }

    static final String OOD_WARNING = "This image looks unlike the images the model was trained on (out-of-distribution"
            + " score above its threshold): another microscope, stain or scale, or not a single white cell. Do not trust"
            + " the answer.";

    /**
     * The differential count of a smear's cells the page classified one by one: a JSON body
     * {@code {"predicted": [class, ...], "referred": n, "flagged": n}} with each cell's most likely
     * class; the answer is {@link DifferentialCount#toMap} plus a warning when too many were flagged.
     */
    private void differential(Context ctx) {
        com.fasterxml.jackson.databind.JsonNode req;
        try {
            req = org.wbctransfer.util.Json.MAPPER.readTree(ctx.bodyAsBytes());
        } catch (IOException e) {
            throw new ApiError(400, "body must be JSON: " + e.getMessage());
        }
        if (req == null || !req.path("predicted").isArray() || req.path("predicted").isEmpty()) {
            throw new ApiError(400, "body must hold \"predicted\": a non-empty list of class names");
        }
        ModelMetadata md = classifier.metadata();
        com.fasterxml.jackson.databind.JsonNode list = req.path("predicted");
        if (list.size() > 100_000) {
            throw new ApiError(413, "at most 100000 cells per count");
        }
        int[] called = new int[list.size()];
        for (int i = 0; i < called.length; i++) {
            int k = md.classIndex(list.get(i).asText());
            if (k < 0) {
                throw new ApiError(400, "unknown class '" + list.get(i).asText() + "'; the model's classes are " + md.classes());
            }
            called[i] = k;
        }
        int referred = Math.max(0, req.path("referred").asInt(0));
        int flagged = Math.max(0, req.path("flagged").asInt(0));
        Map<String, Object> body = new LinkedHashMap<>(DifferentialCount.of(md.classes(), called,
                md.validationConfusionCounts(), referred, flagged).toMap());
        if (md.ood() != null && md.ood().warns(flagged, called.length)) {
            body.put("warning", String.format(java.util.Locale.ROOT, "%d of %d images (%.0f %%) look out of distribution"
                    + " for this model: another microscope, stain or scale? The count is not to be trusted.", flagged,
                    called.length, 100.0 * flagged / called.length));
        }
        json(ctx, 200, body);
    }

    /** The image of a request and the name it came with (null for a raw body without ?filename=). */
    record Upload(String name, byte[] bytes) {
        String describe() {
            return name == null ? "upload" : name;
        }
    }

    private Upload readUpload(Context ctx) throws IOException {
        long limit = options.maxUploadBytes();
        long declared = ctx.req().getContentLengthLong();
        // Refused before reading: a client sending 'Expect: 100-continue' then sends nothing.
        if (declared > limit + MULTIPART_SLACK) {
            throw tooLarge(declared);
        }
        String type = ctx.contentType() == null ? "" : ctx.contentType().toLowerCase(Locale.ROOT);
        if (type.startsWith("multipart/form-data")) {
            return multipart(ctx, limit);
        }
        if (type.startsWith("image/") || type.startsWith("application/octet-stream")) {
            byte[] body;
            try (InputStream in = ctx.req().getInputStream()) {
                body = in.readNBytes((int) limit + 1);
            }
            if (body.length > limit) {
                throw tooLarge(declared); // unknown (-1) for a chunked body: only the first limit + 1 bytes were read
            }
            if (body.length == 0) {
                throw new ApiError(400, "empty request body; send the image as the body or as multipart field 'image'");
            }
            return new Upload(ctx.queryParam("filename"), body);
        }
        if (declared == 0 || (declared < 0 && ctx.req().getInputStream().read() < 0)) {
            throw new ApiError(400, "empty request; send the image as multipart/form-data field 'image' or as the body with an image/* content type");
        }
        throw new ApiError(415, "unsupported content type '" + (type.isEmpty() ? "none" : type)
                + "'; send multipart/form-data with field 'image', or the image as the body with an image/* content type");
    }

    private Upload multipart(Context ctx, long limit) throws IOException {
        // Parts up to the limit stay in memory: nothing an upload sends is written to disk.
        ctx.req().setAttribute("org.eclipse.jetty.multipartConfig",
                new MultipartConfigElement("", limit, limit + MULTIPART_SLACK, (int) limit + 1));
        Part part;
        try {
            part = ctx.req().getPart("image");
        } catch (IllegalStateException e) {
            // Jetty's way of saying a part or the request went over the configured maximum
            // ("... exceeds max filesize", "Request exceeds maxRequestSize"), among other faults.
            if (String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("exceeds max")) {
                throw tooLarge(ctx.req().getContentLengthLong());
            }
            throw new ApiError(400, "malformed multipart body (" + e.getMessage() + ")");
        } catch (ServletException | IOException e) {
            throw new ApiError(400, "malformed multipart body (" + e.getMessage() + ")");
        }
        if (part == null) {
            throw new ApiError(400, "no form field 'image'; send the image as multipart field 'image'");
        }
        byte[] bytes;
        try (InputStream in = part.getInputStream()) {
            bytes = in.readAllBytes();
        }
        String name = part.getSubmittedFileName();
        if (bytes.length == 0) {
            throw new ApiError(400, "form field 'image' is empty" + (name == null || name.isEmpty() ? "" : " (" + name + ")"));
        }
        return new Upload(name == null || name.isEmpty() ? null : name, bytes);
    }

    private ApiError tooLarge(long bytes) {
        String limit = String.format(Locale.ROOT, "%d bytes (%.1f MB)", options.maxUploadBytes(), options.maxUploadBytes() / 1e6);
        return new ApiError(413, (bytes > 0 ? "upload of " + bytes + " bytes is too large" : "upload too large")
                + "; the limit is " + limit + " per image");
    }

    private static boolean flag(Context ctx, String name) {
        String v = ctx.queryParam(name);
        if (v == null || v.equalsIgnoreCase("false") || v.equals("0")) {
            return false;
        }
        if (v.isEmpty() || v.equalsIgnoreCase("true") || v.equals("1")) {
            return true;
        }
        throw new ApiError(400, "?" + name + "= must be true or false, got '" + v + "'");
    }

    private Map<String, Object> modelInfo() {
        ModelMetadata md = classifier.metadata();
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("format", md.format());
        info.put("architecture", md.architecture());
        info.put("classes", md.classes());
        info.put("inputSize", md.imageSize());
        info.put("inputShape", md.inputShape());
        info.put("normalization", md.inputNormalization());
        info.put("intendedUse", md.intendedUse() != null ? md.intendedUse() : ModelMetadata.INTENDED_USE);
        info.put("metrics", md.metrics() != null ? md.metrics() : Map.of());
        info.put("maxUploadBytes", options.maxUploadBytes());
        if (md.ood() != null) {
            info.put("ood", Map.of("score", md.ood().score(), "threshold", md.ood().threshold(),
                    "warnFraction", md.ood().warnFraction()));
        }
        if (options.minConfidence() != null) {
            info.put("minConfidence", options.minConfidence());
        }
        info.put("engine", classifier.engine());
        if (classifier.cellCrop() != null) {
            info.put("segmenterEngine", classifier.cellCrop().engine());
        }
        return info;
    }

    /** A float as the shortest decimal that reads back as it, not its widened double's digits. */
    private static double number(float v) {
        return Double.parseDouble(Float.toString(v));
    }

    private static void json(Context ctx, int status, Object body) {
        try {
            ctx.status(status).contentType("application/json").result(Json.MAPPER.writeValueAsBytes(body));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] readPage() {
        try (InputStream in = WbcServer.class.getResourceAsStream(PAGE)) {
            if (in == null) {
                throw new IllegalStateException(PAGE + " missing from the classpath");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops listening, lets running predictions finish, then stops the workers. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        app.stop();
        pool.close();
    }
}
