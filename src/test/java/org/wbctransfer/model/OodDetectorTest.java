package org.wbctransfer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.util.UserException;

class OodDetectorTest {

    @TempDir
    Path tmp;

    @Test
    void invertsASymmetricPositiveDefiniteMatrix() {
        double[][] a = {{4, 2, 0.6}, {2, 5, 1}, {0.6, 1, 3}};
        double[][] inv = OodDetector.spdInverse(a);
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                double s = 0;
                for (int k = 0; k < 3; k++) {
                    s += a[i][k] * inv[k][j];
                }
                assertThat(s).isCloseTo(i == j ? 1 : 0, org.assertj.core.api.Assertions.within(1e-12));
            }
        }
    }

    /** Two classes at (0, 0) and (10, 0), unit spread: the distance of a point is its squared distance to the nearer mean. */
    /** The distances as the classifier computes them: the detector's arrays in libtorch. */
    private static double[] distances(OodDetector d, float[][] probe) {
        float[] flat = new float[probe.length * probe[0].length];
        for (int i = 0; i < probe.length; i++) {
            System.arraycopy(probe[i], 0, flat, i * probe[0].length, probe[0].length);
        }
        try (ai.djl.ndarray.NDManager nd = ai.djl.ndarray.NDManager.newBaseManager()) {
            return OodDetector.mahalanobis(nd.create(flat, new ai.djl.ndarray.types.Shape(probe.length, probe[0].length)),
                    d.toArrays(nd));
        }
    }

    @Test
    void mahalanobisIsTheDistanceToTheNearestClassMeanInUnitsOfTheSpread() throws Exception {
        Random rnd = new Random(1);
        int n = 20000;
        float[][] f = new float[n][2];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % 2;
            f[i][0] = (float) (10 * y[i] + rnd.nextGaussian());
            f[i][1] = (float) (3 * rnd.nextGaussian()); // spread 3 along the second axis
        }
        OodDetector d = OodDetector.fit(f, y, 2);
        float[][] probe = {{1, 0}, {9, 6}, {5, 0}};
        float[][] logits = {{2, 0}, {0, 0}, {1, 1}};
        double[][] s = OodDetector.scores(distances(d, probe), logits);
        double[] m = s[OodDetector.Score.MAHALANOBIS.ordinal()];
        assertThat(m[0]).isCloseTo(1.0, org.assertj.core.api.Assertions.within(0.05));
        assertThat(m[1]).isCloseTo(1.0 + 4.0, org.assertj.core.api.Assertions.within(0.15)); // 1 sd + 2 sd of 3
        assertThat(m[2]).isCloseTo(25.0, org.assertj.core.api.Assertions.within(1.0));
        // The ONNX engine's graph of the same arithmetic on ONNX Runtime.
        try (OnnxClassifier graph = OnnxClassifier.open(d.graph(), 1)) {
            double[] g = OodDetector.mahalanobis(graph, new float[] {1, 0, 9, 6, 5, 0}, 3);
            for (int i = 0; i < 3; i++) {
                assertThat(g[i]).isCloseTo(m[i], org.assertj.core.api.Assertions.withinPercentage(0.01));
            }
        }
        // energy = -logsumexp, msp = 1 - max softmax
        assertThat(s[OodDetector.Score.ENERGY.ordinal()][1]).isCloseTo(-Math.log(2), org.assertj.core.api.Assertions.within(1e-9));
        assertThat(s[OodDetector.Score.MSP.ordinal()][1]).isCloseTo(0.5, org.assertj.core.api.Assertions.within(1e-9));
        assertThat(s[OodDetector.Score.MSP.ordinal()][0]).isCloseTo(1 - Math.exp(2) / (Math.exp(2) + 1),
                org.assertj.core.api.Assertions.within(1e-9));

        Path file = tmp.resolve(OodDetector.FILE);
        d.save(file);
        OodDetector back = OodDetector.load(file);
        assertThat(distances(back, probe)).containsExactly(m);
        assertThat(java.util.Arrays.stream(OodDetector.scores(null, logits)[0]).allMatch(Double::isNaN)).isTrue();

        Files.write(file, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> OodDetector.load(file)).isInstanceOf(UserException.class).hasMessageContaining(file.toString());
    }
}
