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

    /** The first line of a message (of an exception caught to be reported in one line); "" for none. */
    public static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
