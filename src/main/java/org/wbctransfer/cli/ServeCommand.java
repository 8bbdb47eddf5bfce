package org.wbctransfer.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.serve.ServeOptions;
import org.wbctransfer.serve.WbcServer;
import org.wbctransfer.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code wbc serve}: a model bundle behind a small HTTP API and a page to try it in a browser. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve a model over HTTP: POST /api/predict (an image as multipart field 'image' or as the body;"
                + " ?gradcam=true adds a Grad-CAM overlay), GET /api/model, and a web page at /. Runs until Ctrl-C.")
public final class ServeCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "Model bundle (from 'wbc export') or run directory")
    Path model;

    @Option(names = "--host", defaultValue = "127.0.0.1",
            description = "Address to listen on (0.0.0.0 for every interface). Default: ${DEFAULT-VALUE}")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port; 0 picks a free one. Default: ${DEFAULT-VALUE}")
    int port;

    @Option(names = "--threads", description = "Inference workers. Default: the number of CPU cores, at most 4")
    int threads = Math.min(4, Runtime.getRuntime().availableProcessors());

    @Option(names = "--min-confidence", description = "Answer 'refer' (for a person to review) when the top"
            + " probability is below this; the response keeps the probabilities and adds mostLikely and referred")
    Double minConfidence;

    @Mixin
    EngineOption engineOption = new EngineOption();

    @Option(names = "--max-upload-mb", defaultValue = "10", description = "Largest image accepted, in MB. Default: ${DEFAULT-VALUE}")
    int maxUploadMb;

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) {
            throw new UserException("--port must be 0..65535, got " + port);
        }
        if (threads < 1 || threads > 64) {
            throw new UserException("--threads must be 1..64, got " + threads);
        }
        if (maxUploadMb < 1 || maxUploadMb > 1000) {
            throw new UserException("--max-upload-mb must be 1..1000, got " + maxUploadMb);
        }
        if (minConfidence != null && !(minConfidence > 0 && minConfidence < 1)) {
            throw new UserException("--min-confidence must be between 0 and 1 (exclusive), got " + minConfidence);
        }
        WbcServer.resolveHost(host);
        ServeOptions options = new ServeOptions(host, port, threads, maxUploadMb * 1_000_000L, minConfidence);
        Path modelDir = ModelDirs.resolve(model);
        try (Classifier c = Classifier.load(modelDir)) {
            engineOption.apply(c, modelDir, null);
            try (WbcServer server = WbcServer.start(c, options)) {
                CountDownLatch stopped = new CountDownLatch(1);
                // Ctrl-C: finish the requests in flight before the JVM exits.
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    server.close();
                    stopped.countDown();
                }, "wbc-serve-stop"));
                System.out.println("serving " + model + " (" + c.metadata().classes().size() + " classes) at "
                        + server.url() + " with " + threads + " worker(s) on " + c.engine() + "; Ctrl-C stops");
                System.out.flush();
                stopped.await();
            }
        }
        return 0;
    }
}
