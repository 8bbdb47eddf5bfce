package org.wbctransfer.model;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import org.wbctransfer.config.Augmentation;
import org.wbctransfer.data.Augmenter;
import org.wbctransfer.data.Framing;
import org.wbctransfer.data.ImageDecoder;
import org.wbctransfer.data.Normalization;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Hashing;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;
import org.wbctransfer.util.Warnings;

/**
 * Cell-centred crops: the masks stage's segmentation network ({@link MaskNet}) finds the white
 * cell (nucleus and cytoplasm) in the image's centre square, and the image is cut to a square
 * around it with a fixed margin, so that a microscope whose cells fill the frame and one whose
 * cells fill a third of it show the network the cell at the same scale. Where no nucleus is
 * found the image keeps its centre square, and the fallback is counted.
 *
 * <p>The network lives in a folder of its own ({@link #DIR}: {@link #WEIGHTS} and {@link #INFO}),
 * written by the masks stage and copied into every model bundle trained with it, so train,
 * evaluate, predict, explain and serve all frame with the same weights.
 */
public final class CellCrop implements Framing, AutoCloseable {

    public static final String DIR = "segmenter";
    public static final String WEIGHTS = "segmenter.params";
    public static final String INFO = "segmenter.json";
    /** Space kept on each side of the cell, as a fraction of its longer side. */
    public static final double MARGIN = 0.2;
    /** A nucleus of fewer pixels than this fraction of the searched square is taken for noise. */
    static final double MIN_NUCLEUS = 0.002;
    private static final int NUCLEUS = 2;
    /**
     * How far the cell reaches beyond its nucleus box on each side, as a fraction of the
     * nucleus's longer side: white cells are up to about 1.7 times their nucleus across (set by
     * looking at crops of Raabin training and wbc-seg images, before any model was trained on them).
     */
    static final double REACH = 0.35;
    /**
     * A region of cell pixels at most this many times the nucleus across is the cell's own
     * outline (a lobe of a neutrophil can be a third of the cell); a larger one has joined red cells.
     */
    static final double OUTLINE = 3;
    /** How far from the largest nucleus blob another blob may lie and count as a lobe, as a fraction of its longer side. */
    static final double LOBE_GAP = 0.25;
    /**
     * Images segmented in one forward pass. Run one image at a time the network made
     * {@code wbc predict} 4.8 times slower than without the crop; over batches, 2.1 times
     * (docs/outside-crop/predict-cell-crop*.txt). Batching changes no pixel (MaskStageTest).
     */
    static final int BATCH = 32;

    /**
     * segmenter.json.
     *
     * @param size the side the network reads the centre square at
     * @param normalization of its input, from the masks stage's training images
     * @param weightsSha256 SHA-256 of segmenter.params, checked on load
     * @param trainedOn the mask folder the stage trained on
     * @param trainHash hash of the training pairs' names
     * @param heldOutMeanIoU mean IoU on the stage's held-out pairs (best epoch)
     * @param zoomOut the largest zoom-out of the stage's augmentation (1: none)
     * @param onnxSha256 SHA-256 of {@link OnnxExport#SEGMENTER_FILE}, the same network as an ONNX graph
     *     ('wbc export' writes it into a bundle); null where there is none
     */
    public record Info(int size, Normalization normalization, String weightsSha256, String trainedOn, String trainHash,
            double heldOutMeanIoU, double zoomOut, String onnxSha256) {

        Info withOnnxSha256(String sha) {
            return new Info(size, normalization, weightsSha256, trainedOn, trainHash, heldOutMeanIoU, zoomOut, sha);
        }
    }

    private final Info info;
    /** The folder the two files were read from. */
    private final Path dir;
    /** The network on libtorch, loaded on first use: a bundle run on ONNX Runtime never starts libtorch. */
    private Model model;
    private MaskNet net;
    /** When set ({@link #useOnnx}), the network runs as {@link OnnxExport#SEGMENTER_FILE} on ONNX Runtime. */
    private OnnxClassifier onnx;
    private final Augmenter plain;
    private final AtomicLong framed = new AtomicLong();
    private final AtomicLong fallbacks = new AtomicLong();

    private CellCrop(Info info, Path dir) {
        this.info = info;
        this.dir = dir;
        this.plain = new Augmenter(Augmentation.none(), info.normalization(), info.size());
    }

    /**
     * Writes a trained segmentation network into {@code dir}: {@code params} (a {@link MaskNet}'s
     * saveParameters bytes) as {@link #WEIGHTS}, then {@link #INFO} with their checksum.
     */
    public static void save(Path dir, byte[] params, Info info) throws IOException {
        Files.createDirectories(dir);
        AtomicFiles.writeBytes(dir.resolve(WEIGHTS), params);
        Info withSha = new Info(info.size(), info.normalization(), Hashing.sha256(dir.resolve(WEIGHTS)),
                info.trainedOn(), info.trainHash(), info.heldOutMeanIoU(), info.zoomOut(), null);
        Json.write(dir.resolve(INFO), withSha);
    }

    /**
     * Reads a segmenter folder: {@link #DIR} itself, or a folder holding it (a masks stage's
     * directory, a model bundle), and checks the weights' checksum; the network is loaded on first use.
     */
    public static CellCrop load(Path dir) {
        Path d = folder(dir);
        Info info = Json.read(d.resolve(INFO), Info.class);
        if (info.weightsSha256() != null) {
            checkSha256(d.resolve(WEIGHTS), info.weightsSha256());
        }
        return new CellCrop(info, d);
    }

    /** A {@link UserException} naming {@code file} unless its SHA-256 is the one {@link #INFO} records. */
    private static void checkSha256(Path file, String recorded) {
        try {
            String actual = Hashing.sha256(file);
            if (!recorded.equalsIgnoreCase(actual)) {
                throw new UserException(file + ": checksum mismatch (sha256 " + actual + ", " + INFO + " records "
                        + recorded + ")");
            }
        } catch (IOException e) {
            throw new UserException(file + ": cannot read (" + UserException.firstLine(String.valueOf(e.getMessage())) + ")", e);
        }
    }

    /** The network on libtorch, loaded from {@link #WEIGHTS} on the first call. */
    private synchronized MaskNet torch() {
        if (net == null) {
            Path weights = dir.resolve(WEIGHTS);
            Model m = Model.newInstance("segmenter", Devices.compute());
            MaskNet n = new MaskNet(ResNet18.backbone(), 3);
            try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(weights), 1 << 20))) {
                m.setBlock(n);
                n.initialize(m.getNDManager(), DataType.FLOAT32, new Shape(1, 3, info.size(), info.size()));
                n.loadParameters(m.getNDManager(), in);
            } catch (IOException | MalformedModelException | RuntimeException e) {
                m.close();
                throw new UserException(weights + ": cannot load the segmentation network ("
                        + UserException.firstLine(String.valueOf(e.getMessage())) + ")", e);
            }
            model = m;
            net = n;
        }
        return net;
    }

    /**
     * Runs the network as the folder's {@link OnnxExport#SEGMENTER_FILE} on ONNX Runtime from now
     * on, where the folder has one whose checksum {@link #INFO} records (faster on CPU, and libtorch
     * need not start); returns whether it does. Its labels agree with libtorch's up to float rounding
     * at pixels where two classes' scores tie.
     */
    public synchronized boolean useOnnx() {
        Path graph = dir.resolve(OnnxExport.SEGMENTER_FILE);
        if (onnx != null) {
            return true;
        }
        if (info.onnxSha256() == null) {
            return false;
        }
        if (!Files.isRegularFile(graph)) {
            // Same crops either way, only slower: worth a word, not a refusal.
            Warnings.warn(graph + " is missing though " + INFO
                    + " records it; the segmenter runs on libtorch");
            return false;
        }
        checkSha256(graph, info.onnxSha256());
        onnx = OnnxClassifier.open(graph);
        return true;
    }

    /** Which engine segments: {@code "onnx"} or {@code "torch"}. */
    public synchronized String engine() {
        return onnx == null ? "torch" : "onnx";
    }

    /** The folder holding the two files: {@code dir} itself or its {@link #DIR}; a {@link UserException} when neither does. */
    private static Path folder(Path dir) {
        Path d = Files.isRegularFile(dir.resolve(INFO)) ? dir : dir.resolve(DIR);
        if (!Files.isRegularFile(d.resolve(INFO)) || !Files.isRegularFile(d.resolve(WEIGHTS))) {
            throw new UserException(dir + ": no segmentation network (" + DIR + "/" + INFO + " and " + WEIGHTS
                    + "; a masks pre-training stage writes them)");
        }
        return d;
    }

    /** A segmenter folder's {@link #INFO}, without loading the network. */
    public static Info readInfo(Path dir) {
        return Json.read(folder(dir).resolve(INFO), Info.class);
    }

    public Info info() {
        return info;
    }

    /**
     * Writes this network, BatchNorm folded, as {@code bundle}/{@link #DIR}/{@link
     * OnnxExport#SEGMENTER_FILE}, and {@link #INFO} there with its checksum ({@link #copyTo} first).
     */
    public synchronized void writeOnnx(Path bundle) throws IOException {
        Path dst = bundle.resolve(DIR);
        FoldedResNet.SegmenterWeights w = FoldedResNet.segmenter(torch(), model.getNDManager());
        String sha = OnnxExport.writeSegmenter(w, info.size(), dst.resolve(OnnxExport.SEGMENTER_FILE));
        Json.write(dst.resolve(INFO), info.withOnnxSha256(sha));
    }

    /** Copies this segmenter's files (its two, and its ONNX graph where it has one) into {@code bundle}/{@link #DIR}. */
    public void copyTo(Path bundle) throws IOException {
        Path dst = bundle.resolve(DIR);
        Files.createDirectories(dst);
        List<String> files = Files.isRegularFile(dir.resolve(OnnxExport.SEGMENTER_FILE))
                ? List.of(WEIGHTS, OnnxExport.SEGMENTER_FILE, INFO) : List.of(WEIGHTS, INFO);
        for (String f : files) {
            AtomicFiles.write(dst.resolve(f), tmp -> Files.copy(dir.resolve(f), tmp,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING));
        }
    }

    /**
     * What the network saw in an image's centre square.
     *
     * @param labels per-pixel classes at {@link Info#size} (0 background, 1 cytoplasm, 2 nucleus)
     * @param box the cell's box in those pixels ({@link #cellBox}), or null when no nucleus was found
     */
    public record Located(byte[] labels, int[] box) {}

    /** Segments the image's centre square and finds the cell in it. */
    public Located locate(BufferedImage image) {
        return locateAll(List.of(image)).get(0);
    }

    /** {@link #locate} of each image, the network run over them {@link #BATCH} at a time. */
    public List<Located> locateAll(List<BufferedImage> images) {
        int s = info.size();
        List<byte[]> rgbs = new ArrayList<>(images.size());
        for (BufferedImage image : images) {
            rgbs.add(ImageDecoder.toRgb(ImageDecoder.resizeSquare(image, s)));
        }
        List<Located> found = new ArrayList<>(images.size());
        for (byte[] labels : segment(rgbs)) {
            found.add(new Located(labels, cellBox(labels, s)));
        }
        return found;
    }

    @Override
    public BufferedImage frame(BufferedImage image) {
        return frame(image, locate(image).box());
    }

    @Override
    public List<BufferedImage> frameAll(List<BufferedImage> images) {
        List<Located> found = locateAll(images);
        List<BufferedImage> framed = new ArrayList<>(images.size());
        for (int i = 0; i < images.size(); i++) {
            framed.add(frame(images.get(i), found.get(i).box()));
        }
        return framed;
    }

    /** The crop around {@code box} (from {@link #locate}); the image itself when box is null. */
    public BufferedImage frame(BufferedImage image, int[] box) {
        int w = image.getWidth();
        int h = image.getHeight();
        int side = Math.min(w, h);
        int s = info.size();
        if (box == null) {
            fallbacks.incrementAndGet();
            return image;
        }
        framed.incrementAndGet();
        double scale = side / (double) s;
        double cx = (w - side) / 2.0 + (box[0] + box[2]) / 2.0 * scale;
        double cy = (h - side) / 2.0 + (box[1] + box[3]) / 2.0 * scale;
        double cell = Math.max(box[2] - box[0], box[3] - box[1]) * scale;
        int out = Math.max(8, (int) Math.round(cell * (1 + 2 * MARGIN)));
        BufferedImage canvas = new BufferedImage(out, out, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = canvas.createGraphics();
        // Beyond the image's edge the crop shows the slide's background, not black.
        g.setColor(borderColour(image));
        g.fillRect(0, 0, out, out);
        g.drawImage(image, (int) Math.round(out / 2.0 - cx), (int) Math.round(out / 2.0 - cy), null);
        g.dispose();
        return canvas;
    }

    /** Per-pixel classes (0 background, 1 cytoplasm, 2 nucleus) of each s x s RGB image. */
    synchronized List<byte[]> segment(List<byte[]> rgbs) {
        int s = info.size();
        int plane = s * s;
        List<byte[]> out = new ArrayList<>(rgbs.size());
        for (int from = 0; from < rgbs.size(); from += BATCH) {
            int n = Math.min(BATCH, rgbs.size() - from);
            float[] x = new float[n * 3 * plane];
            for (int i = 0; i < n; i++) {
                plain.plain(rgbs.get(from + i), x, i * 3 * plane);
            }
            long[] cls = onnx != null ? onnx.longs(x, n, 3, s, s) : torchLabels(x, n);
            for (int i = 0; i < n; i++) {
                byte[] labels = new byte[plane];
                for (int p = 0; p < plane; p++) {
                    labels[p] = (byte) cls[i * plane + p];
                }
                out.add(labels);
            }
        }
        return out;
    }

    /** Per-pixel classes of n normalized s x s images, flat, on libtorch. */
    private long[] torchLabels(float[] x, int n) {
        int s = info.size();
        MaskNet network = torch();
        try (NDManager sub = model.getNDManager().newSubManager()) {
            NDArray in = sub.create(FloatBuffer.wrap(x), new Shape(n, 3, s, s));
            return network.forward(new ParameterStore(sub, false), new NDList(in), false).singletonOrThrow()
                    .argMax(1).toLongArray();
        }
    }

    /**
     * The cell's box {x0, y0, x1, y1} (end exclusive) in an s x s label map, or null when no
     * nucleus is found. The white cell's nucleus is the 8-connected blob of nucleus pixels with
     * the largest size discounted by its distance from the middle (red cells have no nucleus);
     * blobs with a pixel within {@link #LOBE_GAP} of its longer side of one of its pixels, and at
     * least an eighth of its size, are its other lobes. The 4-connected region of cell pixels
     * (cytoplasm or nucleus) around it is the cell when it is at most {@link #OUTLINE} times the
     * nucleus across; otherwise (a network trained on other stains can read red cells as
     * cytoplasm, joining every cell in the image into one region) the cell is the nucleus box
     * grown by {@link #REACH} of its longer side on each side, kept within that region.
     */
    static int[] cellBox(byte[] labels, int s) {
        List<int[]> blobs = new java.util.ArrayList<>(); // {x0, y0, x1, y1, pixels, first pixel}
        int[] blob = new int[labels.length];
        java.util.Arrays.fill(blob, -1);
        for (int start = 0; start < labels.length; start++) {
            if (labels[start] == NUCLEUS && blob[start] < 0) {
                blobs.add(flood(s, start, p -> labels[p] == NUCLEUS, blob, blobs.size(), true));
            }
        }
        // Every source crops its images around a white cell: a blob's size counts less the
        // further it lies from the middle (halved at a quarter of the side away).
        double mid = s / 2.0;
        int[] seed = blobs.stream().max(java.util.Comparator.comparingDouble(b -> {
            double dx = (b[0] + b[2]) / 2.0 - mid;
            double dy = (b[1] + b[3]) / 2.0 - mid;
            return b[4] * Math.pow(0.5, (dx * dx + dy * dy) / (s * s / 16.0));
        })).orElse(null);
        if (seed == null || seed[4] < Math.max(1, MIN_NUCLEUS * s * s)) {
            return null;
        }
        // Measured from the largest blob's own pixels, so that neither a red cell's rim beside a
        // round nucleus nor a chain of them can walk the box across the image.
        int gap = (int) Math.ceil(LOBE_GAP * Math.max(seed[2] - seed[0], seed[3] - seed[1]));
        int seedId = blob[seed[5]];
        boolean[] nearSeed = dilate(blob, seedId, s, gap);
        boolean[] lobe = new boolean[blobs.size()];
        for (int p = 0; p < labels.length; p++) {
            if (blob[p] >= 0 && nearSeed[p]) {
                lobe[blob[p]] = true;
            }
        }
        int[] nucleus = {seed[0], seed[1], seed[2], seed[3]};
        for (int i = 0; i < blobs.size(); i++) {
            int[] b = blobs.get(i);
            if (lobe[i] && b[4] >= Math.max(2, seed[4] / 8)) {
                nucleus = new int[] {Math.min(nucleus[0], b[0]), Math.min(nucleus[1], b[1]),
                    Math.max(nucleus[2], b[2]), Math.max(nucleus[3], b[3])};
            }
        }
        int[] cell = region(labels, s, seed[5]);
        int nucleusSide = Math.max(nucleus[2] - nucleus[0], nucleus[3] - nucleus[1]);
        if (Math.max(cell[2] - cell[0], cell[3] - cell[1]) <= OUTLINE * nucleusSide) {
            return java.util.Arrays.copyOf(cell, 4); // the network outlined the cell itself
        }
        int reach = (int) Math.ceil(REACH * nucleusSide);
        return new int[] {
            Math.max(cell[0], nucleus[0] - reach), Math.max(cell[1], nucleus[1] - reach),
            Math.min(cell[2], nucleus[2] + reach), Math.min(cell[3], nucleus[3] + reach)};
    }

    /** Pixels within {@code r} (Chebyshev distance) of a pixel of blob {@code id}: a square dilation, rows then columns. */
    private static boolean[] dilate(int[] blob, int id, int s, int r) {
        boolean[] rows = new boolean[blob.length];
        for (int y = 0; y < s; y++) {
            int last = Integer.MIN_VALUE / 2; // the last blob pixel to the left
            for (int x = 0; x < s; x++) {
                if (blob[y * s + x] == id) {
                    last = x;
                }
                rows[y * s + x] = x - last <= r;
            }
            last = Integer.MAX_VALUE / 2;
            for (int x = s - 1; x >= 0; x--) {
                if (blob[y * s + x] == id) {
                    last = x;
                }
                rows[y * s + x] |= last - x <= r;
            }
        }
        boolean[] out = new boolean[blob.length];
        for (int x = 0; x < s; x++) {
            int last = Integer.MIN_VALUE / 2;
            for (int y = 0; y < s; y++) {
                if (rows[y * s + x]) {
                    last = y;
                }
                out[y * s + x] = y - last <= r;
            }
            last = Integer.MAX_VALUE / 2;
            for (int y = s - 1; y >= 0; y--) {
                if (rows[y * s + x]) {
                    last = y;
                }
                out[y * s + x] |= last - y <= r;
            }
        }
        return out;
    }

    /** The box of the 4-connected region of cell pixels (label above 0) holding pixel {@code start}. */
    private static int[] region(byte[] labels, int s, int start) {
        int[] mark = new int[labels.length];
        java.util.Arrays.fill(mark, -1);
        return flood(s, start, p -> labels[p] != 0, mark, 0, false);
    }

    /**
     * Marks with {@code id} every pixel reachable from {@code start} through pixels where
     * {@code inside} holds and {@code mark} is still -1 (8- or 4-connected); returns the region's
     * {x0, y0, x1, y1, pixels, start}.
     */
    private static int[] flood(int s, int start, java.util.function.IntPredicate inside, int[] mark, int id, boolean eight) {
        int[] box = {s, s, 0, 0, 0, start};
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        mark[start] = id;
        queue.add(start);
        while (!queue.isEmpty()) {
            int p = queue.poll();
            int x = p % s;
            int y = p / s;
            grow(box, x, y);
            box[4]++;
            for (int dy = -1; dy <= 1; dy++) {
                for (int dx = -1; dx <= 1; dx++) {
                    int nx = x + dx;
                    int ny = y + dy;
                    int q = ny * s + nx;
                    if ((eight || dx == 0 || dy == 0) && nx >= 0 && ny >= 0 && nx < s && ny < s && mark[q] < 0
                            && inside.test(q)) {
                        mark[q] = id;
                        queue.add(q);
                    }
                }
            }
        }
        return box;
    }

    private static void grow(int[] box, int x, int y) {
        box[0] = Math.min(box[0], x);
        box[1] = Math.min(box[1], y);
        box[2] = Math.max(box[2], x + 1);
        box[3] = Math.max(box[3], y + 1);
    }

    /** The mean colour of the image's outermost ring of pixels. */
    static Color borderColour(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        long r = 0;
        long g = 0;
        long b = 0;
        long n = 0;
        for (int y = 0; y < h; y++) {
            int step = y == 0 || y == h - 1 ? 1 : Math.max(1, w - 1);
            for (int x = 0; x < w; x += step) {
                int p = img.getRGB(x, y);
                r += (p >> 16) & 0xff;
                g += (p >> 8) & 0xff;
                b += p & 0xff;
                n++;
            }
        }
        return new Color((int) (r / n), (int) (g / n), (int) (b / n));
    }

    @Override
    public String key() {
        // Every constant of the box rules, so that changing one cannot reuse crops cut by the old rules;
        // and the engine, whose labels may differ at a tie, so that neither reuses the other's crops.
        return String.format(Locale.ROOT, "cell-crop %s margin %.3f reach %.3f lobes %.3f outline %.3f min-nucleus %.4f%s",
                info.weightsSha256(), MARGIN, REACH, LOBE_GAP, OUTLINE, MIN_NUCLEUS, engine().equals("onnx") ? " onnx" : "");
    }

    @Override
    public String summary() {
        return framed.get() + " images framed on the cell found, " + fallbacks.get()
                + " kept their centre square (no nucleus found)";
    }

    @Override
    public synchronized void close() {
        try {
            if (onnx != null) {
                onnx.close();
            }
        } finally {
            if (model != null) {
                model.close();
            }
        }
    }
}
