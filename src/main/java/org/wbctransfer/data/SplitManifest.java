package org.wbctransfer.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.wbctransfer.config.Subset;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Hashing;
import org.wbctransfer.util.UserException;

/**
 * The study's split of a class-per-folder dataset into a fixed test set and nested training
 * subsets, reproduced from the seed project's rule: per class, test = floor(17 % of n), WBC_100
 * train = the rest, WBC_50/10/1 = floor(50/10/1 % of the class's train count), each the prefix of
 * one seeded shuffle so that WBC_1 is inside WBC_10 inside WBC_50 inside WBC_100.
 *
 * <p>Percentages are kept as integers so that floor() is exact (0.17 * 100 is not 17 in binary
 * floating point).
 *
 * <p>{@link #createGrouped} draws a grouped variant: images whose file names share a group (a
 * smear, a capture session) all land on the same side of the test boundary, and each class's
 * test count comes as close to floor(17 %) as the groups allow. Its manifest records the pattern
 * in a {@code # group-by: <regex>} header line.
 *
 * @param skipped files of the dataset left out of the split, as "relative/path: problem"
 *     (unreadable images, non-image files); recorded in the manifest's header
 * @param groupBy the regular expression of a grouped split ({@link #createGrouped}), recorded
 *     in the manifest's header; null for the image-level split
 */
public record SplitManifest(long seed, List<String> classNames, List<Entry> entries, List<String> skipped,
        String groupBy) {

    public static final int TEST_PERCENT = 17;

    /** One image with its split and the subsets whose training set it belongs to. */
    public record Entry(String relativePath, String className, boolean test, int smallestSubsetPercent) {
        /** Whether this image trains the given subset (test images belong to none). */
        public boolean inSubset(String subset) {
            return !test && smallestSubsetPercent <= percentOf(subset);
        }
    }

    private static final String SKIPPED_PREFIX = "# skipped: ";
    private static final String GROUP_BY_PREFIX = "# group-by: ";
    /** Mixed into the seed for the order in which groups are considered (see {@link #createGrouped}). */
    private static final long GROUP_STREAM = 0x67726f7570L;
    /** Seeded starts of the greedy and local search; the draw keeps the lowest cost (the first on ties). */
    static final int STARTS = 8;

    public SplitManifest(long seed, List<String> classNames, List<Entry> entries) {
        this(seed, classNames, entries, List.of());
    }

    public SplitManifest(long seed, List<String> classNames, List<Entry> entries, List<String> skipped) {
        this(seed, classNames, entries, skipped, null);
    }

    public SplitManifest {
        if (groupBy != null && (groupBy.indexOf('\n') >= 0 || groupBy.indexOf('\r') >= 0)) {
            throw new UserException("a group-by pattern cannot hold a line break");
        }
        classNames = List.copyOf(classNames);
        entries = List.copyOf(entries);
        List<String> clean = new ArrayList<>();
        for (String s : skipped) {
            clean.add(s.replace('\r', ' ').replace('\n', ' '));
        }
        skipped = List.copyOf(clean);
    }

    public static int percentOf(String subset) {
        return Subset.parse(subset).percent();
    }

    /**
     * Draws the split over the folder's items. Files the folder skipped (see
     * {@link ImageFolder#skipped()}) are recorded in the manifest's header, not drawn.
     */
    public static SplitManifest create(ImageFolder folder, long seed) {
        List<Entry> out = new ArrayList<>();
        for (String cls : folder.classNames()) {
            List<String> files = new ArrayList<>();
            for (ImageFolder.Item it : folder.items()) {
                if (it.className().equals(cls)) {
                    files.add(it.relativePath());
                }
            }
            files.sort(Comparator.naturalOrder());
            // One stream per class, derived from the seed and the class name, so adding a class
            // or an image elsewhere does not reshuffle this class.
            java.util.Collections.shuffle(files, new Random(seed * 1_000_003L + cls.hashCode()));
            int n = files.size();
            int nTest = n * TEST_PERCENT / 100;
            for (int i = 0; i < nTest; i++) {
                out.add(new Entry(files.get(i), cls, true, Integer.MAX_VALUE));
            }
            addTraining(out, cls, files.subList(nTest, n));
        }
        out.sort(Comparator.comparing(Entry::relativePath));
        return new SplitManifest(seed, folder.classNames(), out, skippedOf(folder));
    }

    /** {@link #create} when {@code groupBy} is null, else {@link #createGrouped}. */
    public static SplitManifest create(ImageFolder folder, long seed, Pattern groupBy) {
        return groupBy == null ? create(folder, seed) : createGrouped(folder, seed, groupBy);
    }

    /**
     * The grouped split: every image of a group is on the same side of the test boundary, and
     * each class's test count comes as close to the image-level rule's floor(17 % of n) as the
     * groups allow.
     *
     * <p>An image's group is {@link #groupKey} of its file name (not its class folder): the first
     * capturing group of the first match of {@code groupBy} ({@link Matcher#find}), or the whole
     * match when the pattern has no group or the group took no part. Groups span classes: a smear
     * with lymphocytes and neutrophils goes to one side with all its cells. An image whose name
     * does not match is a group of its own ({@link #ungrouped} counts them).
     *
     * <p>The rule: with t_c = floor(17 % of class c's n_c) and x_c the class's test count, the
     * draw minimises the sum over classes of ((x_c - t_c) / max(1, t_c))^2, so that every class,
     * rare or common, counts by its relative deviation. Groups are put in a seeded random order
     * (sorted by key, then shuffled); a greedy pass takes each group into the test set when that
     * lowers the cost; then a local search applies, while one lowers the cost, the best single
     * move: one group in or out, or one test group swapped for one training group (the first
     * such move in the seeded order on ties). This runs from {@link #STARTS} successive seeded
     * orders and the lowest cost is kept (the earliest on ties). The result is deterministic for
     * a seed. Its known deviation: it is a local optimum, not a proven global one (on Raabin-WBC
     * with {@code ^([^_]+)_}, classes other than Basophil end within 1.1 % of t_c over split seeds
     * 0-39), and a class whose groups are few or large cannot be near t_c (Raabin-WBC's 212
     * basophils come in four capture days of 20, 49, 51 and 92 images, so its test set is the
     * 49-image day for every seed, against a target of 36). With one image per group it meets
     * every t_c exactly.
     *
     * <p>Training subsets are drawn as in {@link #create}: each class's training images, in
     * one seeded shuffle, give WBC_50/10/1 as nested prefixes (images are not grouped there).
     */
    public static SplitManifest createGrouped(ImageFolder folder, long seed, Pattern groupBy) {
        List<String> classes = folder.classNames();
        int k = classes.size();
        // Group key -> images per class; sorted by key so that the draw does not depend on scan order.
        Map<String, int[]> counts = new TreeMap<>();
        Map<String, String> groupOf = new java.util.HashMap<>();
        int[] n = new int[k];
        for (ImageFolder.Item it : folder.items()) {
            String key = groupKey(groupBy, it.relativePath());
            if (key == null) {
                // A file name holds no '/', so a relative path never equals a matched key.
                key = it.relativePath();
            }
            int c = classes.indexOf(it.className());
            counts.computeIfAbsent(key, x -> new int[k])[c]++;
            groupOf.put(it.relativePath(), key);
            n[c]++;
        }
        int[] target = new int[k];
        for (int c = 0; c < k; c++) {
            target[c] = n[c] * TEST_PERCENT / 100;
        }
        List<String> keys = new ArrayList<>(counts.keySet());
        Random order = new Random(seed * 1_000_003L + GROUP_STREAM);
        java.util.Set<String> testGroups = null;
        double bestCost = Double.POSITIVE_INFINITY;
        for (int start = 0; start < STARTS; start++) {
            java.util.Collections.shuffle(keys, order);
            int[][] vectors = new int[keys.size()][];
            for (int g = 0; g < keys.size(); g++) {
                vectors[g] = counts.get(keys.get(g));
            }
            boolean[] inTest = assignGroups(vectors, target);
            int[] x = new int[k];
            java.util.Set<String> chosen = new java.util.HashSet<>();
            for (int g = 0; g < keys.size(); g++) {
                if (inTest[g]) {
                    chosen.add(keys.get(g));
                    add(x, vectors[g], 1);
                }
            }
            double c = cost(x, target);
            if (c < bestCost) {
                bestCost = c;
                testGroups = chosen;
            }
        }

        List<Entry> out = new ArrayList<>();
        for (String cls : classes) {
            List<String> train = new ArrayList<>();
            for (ImageFolder.Item it : folder.items()) {
                if (it.className().equals(cls)) {
                    if (testGroups.contains(groupOf.get(it.relativePath()))) {
                        out.add(new Entry(it.relativePath(), cls, true, Integer.MAX_VALUE));
                    } else {
                        train.add(it.relativePath());
                    }
                }
            }
            train.sort(Comparator.naturalOrder());
            // The class's stream, as in create(): the training order gives the nested subsets.
            java.util.Collections.shuffle(train, new Random(seed * 1_000_003L + cls.hashCode()));
            addTraining(out, cls, train);
        }
        out.sort(Comparator.comparing(Entry::relativePath));
        return new SplitManifest(seed, classes, out, skippedOf(folder), groupBy.pattern());
    }

    /**
     * The group of an image under a grouped split: the first capturing group of the first match
     * of {@code groupBy} in the file name (the path's last segment), or the whole match when the
     * pattern has no group or its group took no part; null when the name does not match.
     */
    public static String groupKey(Pattern groupBy, String relativePath) {
        String name = relativePath.substring(relativePath.lastIndexOf('/') + 1);
        Matcher m = groupBy.matcher(name);
        if (!m.find()) {
            return null;
        }
        if (m.groupCount() >= 1 && m.group(1) != null) {
            return m.group(1);
        }
        return m.group();
    }

    /** How many of these images' names do not match {@code groupBy} (each is a group of its own). */
    public static int ungrouped(Pattern groupBy, List<Entry> entries) {
        int u = 0;
        for (Entry e : entries) {
            if (groupKey(groupBy, e.relativePath()) == null) {
                u++;
            }
        }
        return u;
    }

    /**
     * A {@code --group-by} or {@code groupBy} value as a pattern; a bad regular expression or a
     * line break (the manifest records it on one header line) is a one-line {@link UserException}
     * that starts with {@code what}.
     */
    public static Pattern compileGroupBy(String regex, String what) {
        if (regex.indexOf('\n') >= 0 || regex.indexOf('\r') >= 0) {
            throw new UserException(what + ": a group-by pattern cannot hold a line break");
        }
        try {
            return Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new UserException(what + ": '" + regex + "' is not a valid regular expression ("
                    + e.getDescription() + (e.getIndex() >= 0 ? " at index " + e.getIndex() : "") + ")");
        }
    }

    /**
     * Which groups go to the test set (see {@link #createGrouped} for the rule), groups in the
     * order given, {@code vectors[g][c]} the images of class c in group g.
     */
    static boolean[] assignGroups(int[][] vectors, int[] target) {
        int g = vectors.length;
        int k = target.length;
        boolean[] inTest = new boolean[g];
        int[] x = new int[k];
        double cost = cost(x, target);
        for (int i = 0; i < g; i++) {
            add(x, vectors[i], 1);
            double c = cost(x, target);
            if (c < cost) {
                inTest[i] = true;
                cost = c;
            } else {
                add(x, vectors[i], -1);
            }
        }
        // Each step strictly lowers a cost that is a function of the assignment: no cycle. The cap
        // is a guard only.
        for (int step = 0; step < 100_000; step++) {
            // Groups with the same vector are interchangeable: the first of each, in order, on each side.
            List<Integer> in = new ArrayList<>();
            List<Integer> out = new ArrayList<>();
            java.util.Set<List<Integer>> seenIn = new java.util.HashSet<>();
            java.util.Set<List<Integer>> seenOut = new java.util.HashSet<>();
            for (int i = 0; i < g; i++) {
                List<Integer> v = java.util.Arrays.stream(vectors[i]).boxed().toList();
                if (inTest[i] ? seenIn.add(v) : seenOut.add(v)) {
                    (inTest[i] ? in : out).add(i);
                }
            }
            double best = cost;
            int bestIn = -1;
            int bestOut = -1;
            int[] y = new int[k];
            for (int i : in) {
                for (int c = 0; c < k; c++) {
                    y[c] = x[c] - vectors[i][c];
                }
                double v = cost(y, target);
                if (v < best) {
                    best = v;
                    bestIn = i;
                    bestOut = -1;
                }
            }
            for (int j : out) {
                for (int c = 0; c < k; c++) {
                    y[c] = x[c] + vectors[j][c];
                }
                double v = cost(y, target);
                if (v < best) {
                    best = v;
                    bestIn = -1;
                    bestOut = j;
                }
            }
            for (int i : in) {
                for (int j : out) {
                    for (int c = 0; c < k; c++) {
                        y[c] = x[c] - vectors[i][c] + vectors[j][c];
                    }
                    double v = cost(y, target);
                    if (v < best) {
                        best = v;
                        bestIn = i;
                        bestOut = j;
                    }
                }
            }
            if (bestIn < 0 && bestOut < 0) {
                break;
            }
            if (bestIn >= 0) {
                inTest[bestIn] = false;
                add(x, vectors[bestIn], -1);
            }
            if (bestOut >= 0) {
                inTest[bestOut] = true;
                add(x, vectors[bestOut], 1);
            }
            cost = best;
        }
        return inTest;
    }

    private static void add(int[] x, int[] v, int sign) {
        for (int c = 0; c < x.length; c++) {
            x[c] += sign * v[c];
        }
    }

    /** Sum over classes of the squared relative deviation of the test count from its target. */
    private static double cost(int[] x, int[] target) {
        double s = 0;
        for (int c = 0; c < x.length; c++) {
            double d = (double) (x[c] - target[c]) / Math.max(1, target[c]);
            s += d * d;
        }
        return s;
    }

    /** A class's training images in their seeded order: rank r trains subset p when r < floor(p % of the count). */
    private static void addTraining(List<Entry> out, String cls, List<String> train) {
        int nTrain = train.size();
        for (int rank = 0; rank < nTrain; rank++) {
            int smallest = 100;
            for (Subset s : Subset.values()) {
                int p = s.percent();
                if (rank < nTrain * p / 100) {
                    smallest = p;
                }
            }
            out.add(new Entry(train.get(rank), cls, false, smallest));
        }
    }

    private static List<String> skippedOf(ImageFolder folder) {
        List<String> skipped = new ArrayList<>();
        folder.skipped().forEach(s -> skipped.add(s.toString()));
        return skipped;
    }

    public List<Entry> test() {
        return entries.stream().filter(Entry::test).toList();
    }

    public List<Entry> train(String subset) {
        String s = Subset.canonical(subset);
        return entries.stream().filter(e -> e.inSubset(s)).toList();
    }

    public int labelOf(Entry e) {
        return classNames.indexOf(e.className());
    }

    /** Count per class, in class order. */
    public int[] countPerClass(List<Entry> list) {
        int[] c = new int[classNames.size()];
        for (Entry e : list) {
            c[labelOf(e)]++;
        }
        return c;
    }

    public String toCsv() {
        StringBuilder sb = new StringBuilder();
        sb.append("# wbc-transfer split manifest; seed=").append(seed);
        if (groupBy == null) {
            sb.append("; test=floor(").append(TEST_PERCENT).append("% per class)");
        } else {
            sb.append("; test=whole groups, per class as near floor(").append(TEST_PERCENT).append("%) as groups allow");
        }
        sb.append("; subsets=floor(p% of per-class train), nested\n");
        // Only for a grouped split, so that image-level manifests keep their bytes (and hash).
        if (groupBy != null) {
            sb.append(GROUP_BY_PREFIX).append(groupBy).append('\n');
        }
        // Only when there is something to say, so that clean datasets keep their manifest (and hash).
        if (!skipped.isEmpty()) {
            sb.append("# ").append(skipped.size()).append(" file(s) of the dataset skipped (not in the split):\n");
            skipped.forEach(s -> sb.append(SKIPPED_PREFIX).append(s).append('\n'));
        }
        sb.append("path,class,split");
        for (String s : Subset.names()) {
            sb.append(',').append(s.toLowerCase(java.util.Locale.ROOT));
        }
        sb.append('\n');
        for (Entry e : entries) {
            sb.append(csvField(e.relativePath())).append(',').append(csvField(e.className())).append(',')
                    .append(e.test() ? "test" : "train");
            for (String s : Subset.names()) {
                sb.append(',').append(e.inSubset(s) ? '1' : '0');
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** Hash of the manifest's content: runs record it so results can be tied to a split. */
    public String sha256() {
        return Hashing.sha256(toCsv());
    }

    public void write(Path file) throws IOException {
        AtomicFiles.writeString(file, toCsv());
    }

    public static SplitManifest read(Path file) {
        List<String> lines;
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            lines = r.lines().toList();
        } catch (NoSuchFileException e) {
            throw new UserException(file + ": split manifest not found (create one with 'wbc split')");
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new UserException(file + ": cannot read split manifest (" + e.getMessage() + ")");
        }
        long seed = -1;
        String groupBy = null;
        List<String> skipped = new ArrayList<>();
        List<Entry> entries = new ArrayList<>();
        TreeSet<String> classes = new TreeSet<>();
        boolean header = false;
        int lineNo = 0;
        for (String line : lines) {
            lineNo++;
            if (line.startsWith(SKIPPED_PREFIX)) {
                skipped.add(line.substring(SKIPPED_PREFIX.length()));
                continue;
            }
            if (line.startsWith(GROUP_BY_PREFIX)) {
                // Before the generic header rule: a pattern may well hold "seed=".
                groupBy = line.substring(GROUP_BY_PREFIX.length());
                continue;
            }
            if (line.startsWith("#")) {
                int i = line.indexOf("seed=");
                if (i >= 0) {
                    String value = line.substring(i + 5).split(";")[0].trim();
                    try {
                        seed = Long.parseLong(value);
                    } catch (NumberFormatException e) {
                        // A hand-edited header must fail like any other malformed line, naming the file.
                        throw new UserException(file + ":" + lineNo + ": seed must be an integer, found '" + value + "'");
                    }
                }
                continue;
            }
            if (line.isBlank()) {
                continue;
            }
            if (!header) {
                if (!line.startsWith("path,class,split")) {
                    throw new UserException(file + ":" + lineNo + ": not a split manifest (expected header 'path,class,split,...')");
                }
                header = true;
                continue;
            }
            List<String> f = parseCsvLine(line);
            if (f.size() != 3 + Subset.values().length) {
                throw new UserException(file + ":" + lineNo + ": expected " + (3 + Subset.values().length) + " fields, found " + f.size());
            }
            boolean test = f.get(2).equals("test");
            if (!test && !f.get(2).equals("train")) {
                throw new UserException(file + ":" + lineNo + ": split must be 'train' or 'test', found '" + f.get(2) + "'");
            }
            int smallest = test ? Integer.MAX_VALUE : 100;
            int col = 3;
            for (Subset s : Subset.values()) {
                if (f.get(col++).equals("1")) {
                    smallest = Math.min(smallest, s.percent());
                }
            }
            entries.add(new Entry(f.get(0), f.get(1), test, smallest));
            classes.add(f.get(1));
        }
        if (entries.isEmpty()) {
            throw new UserException(file + ": split manifest holds no images");
        }
        return new SplitManifest(seed, new ArrayList<>(classes), entries, skipped, groupBy);
    }

    static String csvField(String s) {
        // A row starting with '#' would read back as a comment: a class folder named "#2" is quoted.
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && !s.startsWith("#")) {
            return s;
        }
        return '"' + s.replace("\"", "\"\"") + '"';
    }

    static List<String> parseCsvLine(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    cur.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }
}
