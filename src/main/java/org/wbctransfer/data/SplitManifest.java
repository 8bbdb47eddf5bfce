package org.wbctransfer.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
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
 */
public final class SplitManifest {

    public static final int TEST_PERCENT = 17;
    /** Subset names and their percentage of the per-class training pool, largest first. */
    public static final Map<String, Integer> SUBSETS = subsets();

    private static Map<String, Integer> subsets() {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put("WBC_100", 100);
        m.put("WBC_50", 50);
        m.put("WBC_10", 10);
        m.put("WBC_1", 1);
        return java.util.Collections.unmodifiableMap(m);
    }

    /** One image with its split and the subsets whose training set it belongs to. */
    public record Entry(String relativePath, String className, boolean test, int smallestSubsetPercent) {
        /** Whether this image trains the given subset (test images belong to none). */
        public boolean inSubset(String subset) {
            return !test && smallestSubsetPercent <= percentOf(subset);
        }
    }

    private static final String SKIPPED_PREFIX = "# skipped: ";

    private final long seed;
    private final List<String> classNames;
    private final List<Entry> entries;
    private final List<String> skipped;

    public SplitManifest(long seed, List<String> classNames, List<Entry> entries) {
        this(seed, classNames, entries, List.of());
    }

    /**
     * @param skipped files of the dataset left out of the split, as "relative/path: problem"
     *     (unreadable images, non-image files); recorded in the manifest's header
     */
    public SplitManifest(long seed, List<String> classNames, List<Entry> entries, List<String> skipped) {
        this.seed = seed;
        this.classNames = List.copyOf(classNames);
        this.entries = List.copyOf(entries);
        List<String> clean = new ArrayList<>();
        for (String s : skipped) {
            clean.add(s.replace('\r', ' ').replace('\n', ' '));
        }
        this.skipped = List.copyOf(clean);
    }

    public static int percentOf(String subset) {
        Integer p = SUBSETS.get(subset.toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
        if (p == null) {
            throw new UserException("unknown subset '" + subset + "'; expected one of " + SUBSETS.keySet());
        }
        return p;
    }

    public static String canonicalSubset(String subset) {
        percentOf(subset);
        return subset.toUpperCase(java.util.Locale.ROOT).replace('-', '_');
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
            int nTrain = n - nTest;
            for (int i = 0; i < n; i++) {
                if (i < nTest) {
                    out.add(new Entry(files.get(i), cls, true, Integer.MAX_VALUE));
                } else {
                    int rank = i - nTest; // position in the class's training order
                    int smallest = 100;
                    for (int p : SUBSETS.values()) {
                        if (rank < nTrain * p / 100) {
                            smallest = p;
                        }
                    }
                    out.add(new Entry(files.get(i), cls, false, smallest));
                }
            }
        }
        out.sort(Comparator.comparing(Entry::relativePath));
        List<String> skipped = new ArrayList<>();
        folder.skipped().forEach(s -> skipped.add(s.toString()));
        return new SplitManifest(seed, folder.classNames(), out, skipped);
    }

    public long seed() {
        return seed;
    }

    public List<String> classNames() {
        return classNames;
    }

    public List<Entry> entries() {
        return entries;
    }

    /** Files of the dataset left out of the split ("relative/path: problem"), from the header. */
    public List<String> skipped() {
        return skipped;
    }

    public List<Entry> test() {
        return entries.stream().filter(Entry::test).toList();
    }

    public List<Entry> train(String subset) {
        String s = canonicalSubset(subset);
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
        sb.append("# wbc-transfer split manifest; seed=").append(seed)
                .append("; test=floor(").append(TEST_PERCENT).append("% per class)")
                .append("; subsets=floor(p% of per-class train), nested\n");
        // Only when there is something to say, so that clean datasets keep their manifest (and hash).
        if (!skipped.isEmpty()) {
            sb.append("# ").append(skipped.size()).append(" file(s) of the dataset skipped (not in the split):\n");
            skipped.forEach(s -> sb.append(SKIPPED_PREFIX).append(s).append('\n'));
        }
        sb.append("path,class,split");
        for (String s : SUBSETS.keySet()) {
            sb.append(',').append(s.toLowerCase(java.util.Locale.ROOT));
        }
        sb.append('\n');
        for (Entry e : entries) {
            sb.append(csvField(e.relativePath())).append(',').append(csvField(e.className())).append(',')
                    .append(e.test() ? "test" : "train");
            for (String s : SUBSETS.keySet()) {
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
            if (f.size() != 3 + SUBSETS.size()) {
                throw new UserException(file + ":" + lineNo + ": expected " + (3 + SUBSETS.size()) + " fields, found " + f.size());
            }
            boolean test = f.get(2).equals("test");
            if (!test && !f.get(2).equals("train")) {
                throw new UserException(file + ":" + lineNo + ": split must be 'train' or 'test', found '" + f.get(2) + "'");
            }
            int smallest = test ? Integer.MAX_VALUE : 100;
            int col = 3;
            for (int p : SUBSETS.values()) {
                if (f.get(col++).equals("1")) {
                    smallest = Math.min(smallest, p);
                }
            }
            entries.add(new Entry(f.get(0), f.get(1), test, smallest));
            classes.add(f.get(1));
        }
        if (entries.isEmpty()) {
            throw new UserException(file + ": split manifest holds no images");
        }
        return new SplitManifest(seed, new ArrayList<>(classes), entries, skipped);
    }

    static String csvField(String s) {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0) {
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
