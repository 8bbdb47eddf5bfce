package org.wbctransfer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.wbctransfer.util.UserException;

/**
 * Checks a one-file {@code --out} before a command decodes or computes anything, so a typo costs
 * no work and the message names the user's path (not the temp file the write would have used).
 */
final class OutFile {

    private OutFile() {}

    static void check(Path out, String option) {
        if (out == null) {
            return;
        }
        if (Files.isDirectory(out)) {
            throw new UserException(out + ": is a folder; " + option + " needs a file name (e.g. "
                    + out.resolve("out" + example(option)) + ")");
        }
        Path parent = out.toAbsolutePath().getParent();
        // Walk up to the first existing ancestor: a file there makes the folder impossible to create.
        for (Path p = parent; p != null; p = p.getParent()) {
            if (Files.exists(p)) {
                if (!Files.isDirectory(p)) {
                    throw new UserException(out + ": cannot be written, " + p + " is a file, not a folder");
                }
                if (!Files.isWritable(p)) {
                    throw new UserException(out + ": cannot be written, folder " + p + " is not writable");
                }
                break;
            }
        }
    }

    private static String example(String option) {
        return switch (option) {
            case "split --out" -> ".csv";
            case "explain --out" -> ".png";
            case "predict --out" -> ".csv";
            default -> ".json";
        };
    }
}
