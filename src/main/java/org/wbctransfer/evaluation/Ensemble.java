package org.wbctransfer.evaluation;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.util.UserException;

/**
 * Several models' saved probabilities on the same images, averaged: an ensemble scored from the
 * members' {@value Evaluation#PREDICTIONS} files, so a test split is not read again. Its inference
 * cost is that of all its members together.
 */
public final class Ensemble {

    private Ensemble() {}

    /** One member: where its probabilities came from and how it scored alone. */
    public record Member(String predictions, double accuracy, double macroF1) {}

    /**
     * The ensemble's evaluation, the images in the members' order, the members, and how many
     * images every member called wrong. Those images bound what any rule that picks one member's
     * call per image can reach ({@link #anyMemberRight()}; an average can, rarely, make a class no
     * member chose its top one): the gap between the ensemble and that bound is what combining these
     * members could still win; what lies beyond it needs other models.
     */
    public record Scored(Evaluation.Result result, List<String> files, List<Member> members, int everyMemberWrong) {

        /** The share of images at least one member calls right. */
        public double anyMemberRight() {
            return 1.0 - (double) everyMemberWrong / files.size();
        }
    }

    /**
     * Averages the probabilities of {@code predictionFiles}, which must cover the same images in
     * the same order with the same true classes and class order; anything else is refused, naming
     * the file that differs.
     */
    public static Scored of(List<Path> predictionFiles, String title) throws IOException {
        if (predictionFiles.size() < 2) {
            throw new UserException("an ensemble needs at least two members; got " + predictionFiles.size());
        }
        List<Path> distinct = predictionFiles.stream().map(f -> f.toAbsolutePath().normalize()).distinct().toList();
        if (distinct.size() < predictionFiles.size()) {
            // A member named twice would silently count double.
            throw new UserException("an ensemble's members must differ; " + predictionFiles + " names one file twice");
        }
        Evaluation.Saved first = Evaluation.readPredictions(predictionFiles.get(0));
        int n = first.truth().length;
        int k = first.classes().size();
        float[][] mean = new float[n][k];
        List<Member> members = new ArrayList<>();
        boolean[] someoneRight = new boolean[n];
        for (Path file : predictionFiles) {
            Evaluation.Saved s = file == predictionFiles.get(0) ? first : Evaluation.readPredictions(file);
            if (!s.classes().equals(first.classes())) {
                throw new UserException(file + ": classes " + s.classes() + " differ from " + first.classes() + " of "
                        + predictionFiles.get(0));
            }
            if (!s.files().equals(first.files()) || !java.util.Arrays.equals(s.truth(), first.truth())) {
                throw new UserException(file + ": its images or their true classes differ from those of "
                        + predictionFiles.get(0) + " (" + s.files().size() + " against " + n + " images)");
            }
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < k; j++) {
                    mean[i][j] += s.probabilities()[i][j] / predictionFiles.size();
                }
                someoneRight[i] |= Classifier.argMax(s.probabilities()[i]) == first.truth()[i];
            }
            ClassificationMetrics alone = Evaluation.metrics(first.classes(), s.probabilities(), s.truth());
            members.add(new Member(file.toString(), alone.accuracy(), alone.macroF1()));
        }
        ClassificationMetrics m = Evaluation.metrics(first.classes(), mean, first.truth());
        int everyMemberWrong = 0;
        for (boolean right : someoneRight) {
            everyMemberWrong += right ? 0 : 1;
        }
        return new Scored(new Evaluation.Result(m, mean, first.truth(), title, null, null, null), first.files(),
                List.copyOf(members), everyMemberWrong);
    }
}
