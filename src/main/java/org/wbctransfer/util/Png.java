package org.wbctransfer.util;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;

/** PNG encoding with the JRE's own writer, for pictures saved, embedded in HTML or served. */
public final class Png {

    private Png() {}

    public static byte[] bytes(BufferedImage image) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, "png", out)) {
                throw new IllegalStateException("no PNG writer available in this JRE");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array does not fail to grow
        }
        return out.toByteArray();
    }
}
