package org.wbctransfer.util;

/**
 * The one format of a warning on stderr, {@code wbc: warning: <file>: <problem>} (README, "exit
 * codes"), for the layers below the commands too: a log line with a time and a class name would
 * read as a different kind of message, and scripts grep for the prefix.
 */
public final class Warnings {

    private Warnings() {}

    public static void warn(String message) {
        System.err.println("wbc: warning: " + message);
    }
}
