package org.wbctransfer.serve;

/**
 * How the server listens and how much it takes on.
 *
 * @param port 0 for any free port
 * @param threads inference workers
 * @param maxUploadBytes largest image accepted, in bytes
 * @param minConfidence answers whose top probability is below it are returned as "refer"; null: never
 */
public record ServeOptions(String host, int port, int threads, long maxUploadBytes, Double minConfidence) {

    public ServeOptions(String host, int port, int threads, long maxUploadBytes) {
        this(host, port, threads, maxUploadBytes, null);
    }

    public ServeOptions {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535, got " + port);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        if (maxUploadBytes < 1 || maxUploadBytes > Integer.MAX_VALUE - 1) {
            throw new IllegalArgumentException("maxUploadBytes out of range: " + maxUploadBytes);
        }
        if (minConfidence != null && !(minConfidence > 0 && minConfidence < 1)) {
            throw new IllegalArgumentException("minConfidence must be in (0, 1), got " + minConfidence);
        }
    }
}
