package org.wbctransfer.spark;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.OnnxExport;

/**
 * The models of one executor JVM, keyed by bundle folder and engine: loaded by the first task that
 * needs one and shared by every later task and partition (a {@link Classifier} is thread-safe; the
 * serve pool shares one the same way). Loading a ResNet-18 and its checks take far longer than
 * classifying a partition of small images, so a model per partition would dominate.
 */
final class ModelCache {

    /** System property DJL's PyTorch engine and {@code OnnxClassifier.threads} read. */
    static final String THREADS = "ai.djl.pytorch.num_threads";

    private static final Map<String, Classifier> LOADED = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    private ModelCache() {}

    static Classifier get(BundleRef ref) {
        Path dir = ref.localDir().toAbsolutePath().normalize();
        return LOADED.computeIfAbsent(dir + "|" + ref.engine(), k -> load(dir, ref.engine(), ref.taskThreads()));
    }

    private static Classifier load(Path dir, String engine, int threads) {
        if (threads > 0) {
            // Before the engine starts (it reads the property once), and again after: in local
            // mode the driver JVM may have started libtorch already.
            System.setProperty(THREADS, Integer.toString(threads));
        }
        Classifier c = Classifier.load(dir);
        if ("onnx".equals(engine)) {
            c.useOnnx(dir.resolve(OnnxExport.FILE));
        } else if (threads > 0) {
            ai.djl.pytorch.jni.JniUtils.setNumThreads(threads); // starts libtorch, which the ONNX engine does without
        }
        LOADS.incrementAndGet();
        return c;
    }

    /** How many models this JVM has loaded (tests: once per JVM, not per partition). */
    static int loads() {
        return LOADS.get();
    }

    /** Closes and forgets every model (the driver, after a job in local mode, where it is the executor). */
    static void closeAll() {
        for (String k : LOADED.keySet()) {
            Classifier c = LOADED.remove(k);
            if (c != null) {
                c.close();
            }
        }
    }
}
