package org.wbctransfer.cli;

import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.wbctransfer.data.ImageDecoder;
import org.wbctransfer.model.CellCrop;
import org.wbctransfer.util.AtomicFiles;
import org.wbctransfer.util.Png;
import org.wbctransfer.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code wbc cell-crop}: shows what a segmentation network frames, before a model is trained on
 * its crops: each image beside its cell-centred crop, so a lab can check the framing on its own
 * microscope's images.
 */
@Command(name = "cell-crop", mixinStandardHelpOptions = true,
        description = "Frame images on the white cell a segmentation network finds (what 'wbc train --cell-crop' trains"
                + " on) and write each as a PNG of three panels: the image's centre square, what the network labelled"
                + " in it (cytoplasm light, nucleus dark; the cell's box in red), and the cell-centred crop. Prints how"
                + " many images fell back to the centre square (no nucleus found).")
public final class CellCropCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "SEGMENTER",
            description = "A masks pre-training stage's folder, its 'segmenter' folder, or a model bundle trained with --cell-crop")
    Path segmenter;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "IMAGE", description = "Image files or folders (searched recursively)")
    List<Path> inputs;

    @Option(names = {"-o", "--out"}, required = true, description = "Output folder for the PNGs")
    Path out;

    @Option(names = "--size", defaultValue = "128", description = "Side of each half of a PNG in pixels. Default: ${DEFAULT-VALUE}")
    int size;

    @Option(names = "--max", defaultValue = "50", description = "At most this many images, in name order. Default: ${DEFAULT-VALUE}")
    int max;

    @Override
    public Integer call() throws Exception {
        if (size < 16 || size > 1024 || max < 1) {
            throw new UserException("--size must be 16..1024 and --max at least 1");
        }
        List<Path> files = new ArrayList<>();
        for (Path in : inputs) {
            if (Files.isDirectory(in)) {
                try (Stream<Path> s = Files.walk(in)) {
                    s.filter(Files::isRegularFile).filter(CellCropCommand::looksLikeImage).sorted().forEach(files::add);
                }
            } else if (Files.isRegularFile(in)) {
                files.add(in);
            } else {
                throw new UserException(in + ": no such file or folder");
            }
        }
        if (files.size() > max) {
            files = files.subList(0, max);
        }
        Files.createDirectories(out);
        int written = 0;
        try (CellCrop crop = CellCrop.load(segmenter)) {
            for (Path f : files) {
                BufferedImage img;
                try {
                    img = ImageDecoder.read(f);
                } catch (ImageDecoder.BadImageException e) {
                    System.err.println(f + ": " + e.getMessage() + "; skipped");
                    continue;
                }
                CellCrop.Located found = crop.locate(img);
                BufferedImage pair = new BufferedImage(3 * size, size, BufferedImage.TYPE_INT_RGB);
                Graphics2D g = pair.createGraphics();
                g.drawImage(ImageDecoder.resizeSquare(img, size), 0, 0, null);
                g.drawImage(labelMap(found, crop.info().size()), size, 0, size, size, null);
                g.drawImage(ImageDecoder.resizeSquare(crop.frame(img, found.box()), size), 2 * size, 0, null);
                g.dispose();
                String name = f.getFileName().toString().replaceAll("\\.[^.]*$", "") + ".png";
                AtomicFiles.writeBytes(out.resolve(name), Png.bytes(pair));
                written++;
            }
            System.out.println(written + " images -> " + out + "; " + crop.summary());
        }
        return 0;
    }

    /** The labels as a picture: background white, cytoplasm light blue, nucleus dark blue; the box in red. */
    private static BufferedImage labelMap(CellCrop.Located found, int s) {
        int[] colours = {0xffffff, 0x9ec5e8, 0x1f3f8f};
        BufferedImage map = new BufferedImage(s, s, BufferedImage.TYPE_INT_RGB);
        for (int i = 0; i < found.labels().length; i++) {
            map.setRGB(i % s, i / s, colours[found.labels()[i]]);
        }
        int[] b = found.box();
        if (b != null) {
            Graphics2D g = map.createGraphics();
            g.setColor(java.awt.Color.RED);
            g.drawRect(b[0], b[1], b[2] - b[0] - 1, b[3] - b[1] - 1);
            g.dispose();
        }
        return map;
    }

    private static boolean looksLikeImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg") || n.endsWith(".bmp") || n.endsWith(".tif")
                || n.endsWith(".tiff");
    }
}
