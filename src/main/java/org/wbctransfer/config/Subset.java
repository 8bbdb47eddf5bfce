package org.wbctransfer.config;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.wbctransfer.util.UserException;

/**
 * The study's label budgets: a percentage of each class's training images (WBC_1 inside WBC_10
 * inside WBC_50 inside WBC_100) and the default schedule for that many images. The one place
 * their names are parsed.
 */
public enum Subset {
    WBC_100(100, 20),
    WBC_50(50, 30),
    WBC_10(10, 60),
    WBC_1(1, 100);

    private final int percent;
    private final int defaultEpochs;

    Subset(int percent, int defaultEpochs) {
        this.percent = percent;
        this.defaultEpochs = defaultEpochs;
    }

    public int percent() {
        return percent;
    }

    /** Fewer images, more epochs: about the same number of steps for every budget. */
    public int defaultEpochs() {
        return defaultEpochs;
    }

    /** {@code wbc_10}, {@code WBC-10} and {@code WBC_10} name the same budget. */
    public static Subset parse(String name) {
        String key = name.toUpperCase(Locale.ROOT).replace('-', '_');
        return Arrays.stream(values()).filter(s -> s.name().equals(key)).findFirst()
                .orElseThrow(() -> new UserException("unknown subset '" + name + "'; expected one of " + names()));
    }

    /** The canonical name of a budget given in any accepted spelling. */
    public static String canonical(String name) {
        return parse(name).name();
    }

    /** Largest first, as the subsets nest. */
    public static List<String> names() {
        return Arrays.stream(values()).map(Enum::name).toList();
    }
}
