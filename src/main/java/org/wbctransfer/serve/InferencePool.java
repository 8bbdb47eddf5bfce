package org.wbctransfer.serve;

import java.awt.image.BufferedImage;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import org.wbctransfer.data.ImageDecoder;
import org.wbctransfer.explain.GradCam;
import org.wbctransfer.explain.Overlay;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelInput;

/**
 * Classifies uploaded images on a fixed number of worker threads with a bounded queue, so a burst
 * of requests waits or is turned away instead of running unbounded model passes at once. Decoding
 * happens on the workers too: it is CPU work of the same order as a forward pass at small sizes.
 *
 * <p>Each worker owns its input buffer. The classifier itself is shared: its forward pass only
 * reads the weights and keeps every intermediate array in a manager of its own call. What cannot
 * be shared is Grad-CAM's gradient collector, which DJL's PyTorch engine allows only one of per
 * process and which touches the gradients of every live array; a Grad-CAM therefore runs alone
 * (write lock) while plain predictions run side by side (read lock).
 */
final class InferencePool implements AutoCloseable {

    /** Side of the Grad-CAM overlay, as {@code wbc explain} draws it by default. */
    static final int OVERLAY_SIZE = 256;

    /**
     * One classified image; {@code overlay} and the map's {@code gradcamLayer} and
     * {@code gradcamResolution} only when Grad-CAM was asked for. {@code ood}: the model's
     * out-of-distribution score, NaN when it has none.
     */
    /** {@code preview}: with Grad-CAM, the centre square the model saw, as the overlay's base (any upload format). */
    record Outcome(int predicted, float[] probabilities, BufferedImage overlay, double ood, boolean outOfDistribution,
            String gradcamLayer, String gradcamResolution, BufferedImage preview, String smallImage) {}

    /** Every worker is busy and the queue is full. */
    static final class BusyException extends Exception {
        BusyException() {
            super("the server is busy; retry shortly");
        }
    }

    private final Classifier classifier;
    private final ModelInput input;
    private final ThreadPoolExecutor workers;
    private final ThreadLocal<float[]> buffers;
    private final ReentrantReadWriteLock gradCamAlone = new ReentrantReadWriteLock();

    InferencePool(Classifier classifier, int threads, int queue) {
        this.classifier = classifier;
        this.input = classifier.input();
        this.buffers = ThreadLocal.withInitial(() -> new float[input.floats()]);
        AtomicInteger n = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(queue), r -> {
            Thread t = new Thread(r, "wbc-infer-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        }, new ThreadPoolExecutor.AbortPolicy());
    }

    /** Decodes and classifies one image on a worker, waiting for the result. */
    Outcome classify(byte[] image, boolean gradCam)
            throws ImageDecoder.BadImageException, BusyException, InterruptedException {
        Future<Outcome> f;
        try {
            f = workers.submit((Callable<Outcome>) () -> run(image, gradCam));
        } catch (RejectedExecutionException e) {
            throw new BusyException();
        }
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ImageDecoder.BadImageException bad) {
                throw bad;
            }
            throw new IllegalStateException("prediction failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            f.cancel(true);
            throw e;
        }
    }

    private Outcome run(byte[] bytes, boolean gradCam) throws ImageDecoder.BadImageException {
        // Decoded at no more than the overlay or the input needs: a huge upload is subsampled.
        BufferedImage original = ImageDecoder.read(bytes, gradCam ? Math.max(OVERLAY_SIZE, input.size()) : input.size());
        float[] x = buffers.get();
        // The same steps as ModelInput.load, so a served prediction equals 'wbc predict' on the file;
        // the overlay is drawn on what the network saw (a cell-centred crop, for a model trained on them).
        BufferedImage framed = input.frame(original);
        input.normalizeFramed(framed, x, 0);
        String small = ImageDecoder.smallImageWarning(original, input.size());
        Classifier.Scored s = locked(gradCamAlone.readLock(), () -> classifier.scored(x, 1, input.size(), false));
        double[] ood = classifier.oodScore(s);
        double score = ood == null ? Double.NaN : ood[0];
        boolean flagged = ood != null && classifier.outOfDistribution(score);
        if (!gradCam) {
            float[] p = s.probabilities()[0];
            return new Outcome(Classifier.argMax(p), p, null, score, flagged, null, null, null, small);
        }
        // The layer wbc explain draws by default (GradCam.DEFAULT, chosen in docs/gradcam).
        GradCam.Result r = locked(gradCamAlone.writeLock(), () -> GradCam.compute(classifier, x, -1, GradCam.DEFAULT));
        return new Outcome(Classifier.argMax(r.probabilities()), r.probabilities(),
                Overlay.over(framed, r, OVERLAY_SIZE), score, flagged, r.layer().key(),
                r.resolution() + " to " + OVERLAY_SIZE + " px", ImageDecoder.resizeSquare(framed, OVERLAY_SIZE), small);
    }

    private static <T> T locked(Lock lock, Supplier<T> work) {
        lock.lock();
        try {
            return work.get();
        } finally {
            lock.unlock();
        }
    }


    /** Stops taking work and waits for the running predictions, so the model can be closed after. */
    @Override
    public void close() {
        workers.shutdown();
        try {
            if (!workers.awaitTermination(30, TimeUnit.SECONDS)) {
                workers.shutdownNow();
            }
        } catch (InterruptedException e) {
            workers.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
