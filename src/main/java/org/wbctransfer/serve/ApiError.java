package org.wbctransfer.serve;

/** A request the server refuses, answered as {@code {"error": message}} with the status. */
final class ApiError extends RuntimeException {
    final int status;

    ApiError(int status, String message) {
        super(message);
        this.status = status;
    }
}
