package org.wbctransfer.util;

/**
 * A problem with the user's input (a missing folder, an unreadable file, a bad option). The CLI
 * prints its message as one line and exits non-zero, without a stack trace.
 */
public class UserException extends RuntimeException {
    public UserException(String message) {
        super(message);
    }

    public UserException(String message, Throwable cause) {
        super(message, cause);
    }
}
