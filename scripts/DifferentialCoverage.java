import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.wbctransfer.evaluation.DifferentialCount;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.model.ModelMetadata;
import org.wbctransfer.util.Json;

/**
 * How often the differential count's 95 % intervals hold the true class shares, on simulated smears
 * drawn from a run's saved test predictions (the test images are not read again): each smear has a
 * class mix drawn around a normal adult differential, its cells are drawn from the test images of
 * each class with the model's saved answers, and the interval of every class is checked against
 * the mix. Usage (after `mvn package`):
 *   java -cp 'target/wbc-transfer-0.1.0-SNAPSHOT.jar:target/lib/*' scripts/DifferentialCoverage.java OUT.json RUN...
 */
public class DifferentialCoverage {
    public static void main(String[] args) throws Exception {
        // Basophil, Eosinophil, Lymphocyte, Monocyte, Neutrophil: a normal adult differential (%).
        double[] normal = {1, 3, 30, 6, 60};
        int smears = 200;
        int[] sizes = {100, 400};
        List<Object> out = new ArrayList<>();
        for (int a = 1; a < args.length; a++) {
            Path run = Path.of(args[a]);
            ModelMetadata md = Json.read(run.resolve("model/metadata.json"), ModelMetadata.class);
            List<String> classes = md.classes();
            Evaluation.Saved saved = Evaluation.readPredictions(run.resolve("eval-test/predictions.csv"), classes);
            int k = classes.size();
            List<List<Integer>> byClass = new ArrayList<>();
            for (int c = 0; c < k; c++) {
                byClass.add(new ArrayList<>());
            }
            for (int i = 0; i < saved.truth().length; i++) {
                byClass.get(saved.truth()[i]).add(argMax(saved.probabilities()[i]));
            }
            for (int n : sizes) {
                for (boolean corrected : new boolean[] {true, false}) {
                    Random rnd = new Random(7);
                    int[] covered = new int[k];
                    double[] width = new double[k];
                    double absError = 0;
                    for (int s = 0; s < smears; s++) {
                        double[] mix = new double[k];
                        double sum = 0;
                        for (int c = 0; c < k; c++) {
                            mix[c] = normal[c] * Math.exp(0.5 * rnd.nextGaussian());
                            sum += mix[c];
                        }
                        int[] called = new int[n];
                        for (int i = 0; i < n; i++) {
                            double u = rnd.nextDouble() * sum;
                            int c = 0;
                            while (c < k - 1 && u >= mix[c]) {
                                u -= mix[c];
                                c++;
                            }
                            List<Integer> pool = byClass.get(c);
                            called[i] = pool.get(rnd.nextInt(pool.size()));
                        }
                        DifferentialCount d = DifferentialCount.of(classes, called,
                                corrected ? md.validationConfusionCounts() : null, 0, 0);
                        for (int c = 0; c < k; c++) {
                            double p = mix[c] / sum;
                            covered[c] += d.low()[c] <= p && p <= d.high()[c] ? 1 : 0;
                            width[c] += d.high()[c] - d.low()[c];
                            absError += Math.abs(d.estimate()[c] - p);
                        }
                    }
                    java.util.Map<String, Object> row = new java.util.LinkedHashMap<>();
                    row.put("run", run.getParent().getFileName() + "/" + run.getFileName());
                    row.put("cellsPerSmear", n);
                    row.put("confusionCorrected", corrected);
                    row.put("smears", smears);
                    java.util.Map<String, Object> cov = new java.util.LinkedHashMap<>();
                    java.util.Map<String, Object> wid = new java.util.LinkedHashMap<>();
                    for (int c = 0; c < k; c++) {
                        cov.put(classes.get(c), (double) covered[c] / smears);
                        wid.put(classes.get(c), 100 * width[c] / smears);
                    }
                    row.put("coverage", cov);
                    row.put("meanWidthPoints", wid);
                    row.put("meanAbsErrorPoints", 100 * absError / (smears * k));
                    out.add(row);
                    System.out.println(String.format(Locale.ROOT, "%s n=%d corrected=%s coverage=%s error=%.2f pt",
                            row.get("run"), n, corrected, cov, 100 * absError / (smears * k)));
                }
            }
        }
        Json.write(Path.of(args[0]), out);
    }

    private static int argMax(float[] p) {
        int b = 0;
        for (int i = 1; i < p.length; i++) {
            if (p[i] > p[b]) {
                b = i;
            }
        }
        return b;
    }
}
