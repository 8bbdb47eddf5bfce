package org.wbctransfer.serve;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.wbctransfer.util.Json;

/**
 * Jetty's own errors, the ones raised before a request reaches the API's routes (a path climbing
 * above the root such as {@code /../../etc/passwd}, encoded or not; a malformed request line), in
 * the API's {@code {"error": ...}} form instead of Jetty's HTML page, which also named the server.
 */
final class JsonErrorHandler extends ErrorHandler {

    JsonErrorHandler() {
        setShowServlet(false);
        setShowStacks(false);
    }

    static byte[] body(int status, String reason) {
        // Jetty's reason for a path it refuses is the bare status text; say what it usually means.
        boolean bare = reason == null || reason.isBlank() || reason.strip().equalsIgnoreCase("Bad Request");
        String message = (status == 400 && bare ? "bad request: a malformed path (e.g. one climbing above the root)"
                : reason == null || reason.isBlank() ? "HTTP " + status : reason.strip())
                + (status == 400 ? "; the API's routes are /api/predict and /api/model" : "");
        try {
            return Json.MAPPER.writeValueAsBytes(Map.of("error", message));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Errors of the HTTP parser and URI checks, answered before any request object exists. */
    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(HttpHeader.CONTENT_TYPE, "application/json");
        return ByteBuffer.wrap(body(status, reason));
    }

    @Override
    protected void generateAcceptableResponse(Request baseRequest, HttpServletRequest request, HttpServletResponse response,
            int code, String message) throws IOException {
        baseRequest.setHandled(true);
        response.setContentType("application/json");
        byte[] b = body(code, message);
        response.setContentLength(b.length);
        response.getOutputStream().write(b);
    }

    @Override
    public boolean errorPageForMethod(String method) {
        return true; // every method gets the JSON body, not only GET and POST
    }
}
