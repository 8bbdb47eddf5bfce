package org.wbctransfer.training;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.wbctransfer.config.Subset;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.data.BatchLoader;
import org.wbctransfer.data.SplitData;
import org.wbctransfer.data.SplitManifest;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.util.UserException;

/**
 * Self-training: a teacher model, trained on the labelled subset, labels the split's other
 * training images (their own labels stay hidden), and the confident ones join the student's
 * training set. A label budget of 1 % leaves 99 % of the training images unlabelled rather than
 * absent, which is the situation this uses. Test images are never in the pool.
 */
public final class PseudoLabels {

    /** Smallest top probability of the teacher for an image to be used, unless set otherwise. */
    public static final double DEFAULT_THRESHOLD = 0.9;

    /** Samples to add (labels are the teacher's) and what was done, for provenance.json. */
    public record Result(List<BatchLoader.Sample> samples, Map<String, Object> provenance) {}

    private PseudoLabels() {}

    /** Training images of the split outside {@code subset}: the unlabelled pool. */
    public static List<SplitManifest.Entry> pool(SplitManifest manifest, String subset) {
        String s = Subset.canonical(subset);
        return manifest.train("WBC_100").stream().filter(e -> !e.inSubset(s)).toList();
    }

    /**
     * Refuses a teacher that saw labels the student must not have: one trained on another split,
     * on a larger subset, or at another image size (the decoded cache is per size).
     */
    public static void checkTeacher(Path teacherDir, Classifier teacher, SplitManifest manifest, String subset,
            int imageSize) {
        TrainConfig t = teacher.metadata().training();
        String sha = teacher.metadata().provenance() == null ? null : teacher.metadata().provenance().manifestSha256();
        if (t == null || sha == null) {
            throw new UserException(teacherDir + ": teacher has no training provenance (split, subset); cannot check it saw only the student's labels");
        }
        if (!Objects.equals(sha, manifest.sha256())) {
            throw new UserException(teacherDir + ": teacher was trained on another split manifest (sha256 " + sha + ")");
        }
        if (SplitManifest.percentOf(t.subset()) > SplitManifest.percentOf(subset)) {
            throw new UserException(teacherDir + ": teacher was trained on " + t.subset() + ", more labels than the student's "
                    + Subset.canonical(subset));
        }
        if (!teacher.metadata().classes().equals(manifest.classNames())) {
            throw new UserException(teacherDir + ": teacher classes " + teacher.metadata().classes() + " differ from the split's "
                    + manifest.classNames());
        }
        if (teacher.metadata().imageSize() != imageSize) {
            throw new UserException(teacherDir + ": teacher works at " + teacher.metadata().imageSize() + " px, the student at "
                    + imageSize);
        }
    }

    /**
     * Labels the pool with the teacher and keeps images whose top probability reaches
     * {@code threshold}. The hidden labels only feed the reported agreement (a diagnostic in
     * provenance); they choose nothing.
     */
    public static Result label(Path teacherDir, SplitData data, String subset, int imageSize, double threshold,
            List<String> skipped) {
        SplitManifest manifest = data.manifest();
        List<BatchLoader.Sample> pool = data.samples(pool(manifest, subset), skipped);
        int k = manifest.classNames().size();
        int[] kept = new int[k];
        int agree = 0;
        List<BatchLoader.Sample> out = new ArrayList<>();
        try (Classifier teacher = Classifier.load(teacherDir)) {
            checkTeacher(teacherDir, teacher, manifest, subset, imageSize);
            float[][] probs = pool.isEmpty() ? new float[0][] : Evaluation.run(teacher, data.cache(), pool).probabilities();
            for (int i = 0; i < pool.size(); i++) {
                int label = Classifier.argMax(probs[i]);
                if (probs[i][label] >= threshold) {
                    out.add(new BatchLoader.Sample(pool.get(i).cacheIndex(), label));
                    kept[label]++;
                    if (label == pool.get(i).label()) {
                        agree++;
                    }
                }
            }
        }
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("teacher", teacherDir.toAbsolutePath().normalize().toString());
        p.put("threshold", threshold);
        p.put("poolImages", pool.size());
        p.put("keptImages", out.size());
        p.put("keptPerClass", kept);
        p.put("keptAgreeingWithHiddenLabels", out.isEmpty() ? null : agree / (double) out.size());
        return new Result(out, p);
    }
}
