package org.wbctransfer.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Finds and runs the PyTorch peer (bench/peer.py) with Debian's Python, and returns its JSON.
 * The peer's progress lines (stderr) pass through to ours.
 */
public final class PeerRunner {

    /** Debian's Python, which bench/install-peer.sh gives torch and torchvision. */
    public static final Path DEFAULT_PYTHON = Path.of("/usr/bin/python3");

    private PeerRunner() {}

    /**
     * bench/peer.py of the project: under the {@code wbc.home} system property (bin/wbc sets it
     * to the project root), else under the working directory.
     */
    public static Path defaultScript() {
        String home = System.getProperty("wbc.home");
        Path base = home != null && !home.isBlank() ? Path.of(home) : Path.of("");
        return base.resolve("bench").resolve("peer.py");
    }

    /** Why the peer cannot run, or null when the script exists and python imports torch and torchvision. */
    public static String unavailable(Path python, Path script) {
        if (!Files.isRegularFile(script)) {
            return script + " not found";
        }
        if (!Files.isExecutable(python)) {
            return python + " not found";
        }
        try {
            Process p = new ProcessBuilder(python.toString(), "-c", "import torch, torchvision")
                    .redirectErrorStream(true).start();
            p.getOutputStream().close();
            p.getInputStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return python + " -c 'import torch, torchvision' did not finish";
            }
            return p.exitValue() == 0 ? null
                    : python + " cannot import torch and torchvision (run bench/install-peer.sh)";
        } catch (IOException e) {
            return python + ": " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /**
     * The peer's command line for the same measurements as ours.
     *
     * @param cacheFiles our decoded-image cache file per size, so the peer's pipeline runs on the
     *     same images (sizes without one use random images)
     */
    public static List<String> command(Path python, Path script, int[] sizes, int batch, int steps, int warmup,
            int threads, int pipelineImages, Map<Integer, Path> cacheFiles, boolean channelsLast, List<String> extra) {
        List<String> cmd = new ArrayList<>();
        cmd.add(python.toString());
        cmd.add(script.toString());
        StringBuilder s = new StringBuilder();
        for (int size : sizes) {
            s.append(s.length() == 0 ? "" : ",").append(size);
        }
        cmd.addAll(List.of("--sizes", s.toString(), "--batch", Integer.toString(batch), "--steps",
                Integer.toString(steps), "--warmup", Integer.toString(warmup), "--threads", Integer.toString(threads),
                "--pipeline-images", Integer.toString(pipelineImages)));
        for (Map.Entry<Integer, Path> e : cacheFiles.entrySet()) {
            cmd.add("--cache-file");
            cmd.add(e.getKey() + "=" + e.getValue().toAbsolutePath());
        }
        if (channelsLast) {
            cmd.add("--channels-last");
        }
        cmd.addAll(extra);
        return cmd;
    }

    /** Runs the command and returns its stdout; stderr goes to ours. Fails on a non-zero exit. */
    public static String run(List<String> command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
        Process p = pb.start();
        p.getOutputStream().close();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(out);
        }
        int code = p.waitFor();
        String stdout = out.toString(StandardCharsets.UTF_8);
        if (code != 0) {
            throw new IOException("the PyTorch peer exited with code " + code);
        }
        return stdout;
    }
}
