package org.wbctransfer.evaluation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.util.UserException;

class EnsembleTest {

    @TempDir
    Path tmp;

    static Path predictions(Path file, String... rows) throws Exception {
        Files.createDirectories(file.getParent());
        Files.writeString(file, "file,true,predicted,p_A,p_B\n" + String.join("\n", rows) + "\n");
        return file;
    }

    @Test
    void averagesProbabilitiesAndBeatsBothMembersWhenTheirErrorsDiffer() throws Exception {
        // One file name holds a comma: the last columns are read from the right.
        Path one = predictions(tmp.resolve("one.csv"), "A/x,1.jpg,A,A,0.90000,0.10000", "B/y.jpg,B,A,0.60000,0.40000",
                "B/z.jpg,B,B,0.20000,0.80000", "A/w.jpg,A,B,0.45000,0.55000");
        Path two = predictions(tmp.resolve("two.csv"), "A/x,1.jpg,A,A,0.70000,0.30000", "B/y.jpg,B,B,0.20000,0.80000",
                "B/z.jpg,B,A,0.60000,0.40000", "A/w.jpg,A,A,0.80000,0.20000");
        Ensemble.Scored s = Ensemble.of(List.of(one, two), "t");
        assertThat(s.files()).containsExactly("A/x,1.jpg", "B/y.jpg", "B/z.jpg", "A/w.jpg");
        assertThat(s.result().probabilities()[3][0]).isCloseTo(0.625f, org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(s.result().metrics().accuracy()).isEqualTo(1.0);
        assertThat(s.members()).extracting(Ensemble.Member::accuracy).containsExactly(0.5, 0.75);
        assertThat(s.result().truth()).containsExactly(0, 1, 1, 0);
        // Each image has a member that calls it right.
        assertThat(s.everyMemberWrong()).isZero();
        assertThat(s.anyMemberRight()).isEqualTo(1.0);
    }

    @Test
    void countsTheImagesEveryMemberCallsWrong() throws Exception {
        Path one = predictions(tmp.resolve("one.csv"), "a.jpg,A,B,0.40000,0.60000", "b.jpg,B,A,0.70000,0.30000",
                "c.jpg,B,A,0.55000,0.45000", "d.jpg,A,A,0.90000,0.10000");
        Path two = predictions(tmp.resolve("two.csv"), "a.jpg,A,B,0.30000,0.70000", "b.jpg,B,B,0.40000,0.60000",
                "c.jpg,B,A,0.80000,0.20000", "d.jpg,A,B,0.20000,0.80000");
        Ensemble.Scored s = Ensemble.of(List.of(one, two), "t");
        // a and c are wrong in both; b and d each have one member right.
        assertThat(s.everyMemberWrong()).isEqualTo(2);
        assertThat(s.anyMemberRight()).isEqualTo(0.5);
        // The mean calls d right (0.55 for A) and b wrong (0.55 for A): the ensemble is 0.25 below the bound.
        assertThat(s.result().metrics().accuracy()).isEqualTo(0.25);
    }

    @Test
    void refusesMembersThatScoredOtherImagesOrClasses() throws Exception {
        Path one = predictions(tmp.resolve("one.csv"), "a.jpg,A,A,0.9,0.1", "b.jpg,B,B,0.1,0.9");
        Path other = predictions(tmp.resolve("other.csv"), "a.jpg,A,A,0.9,0.1", "c.jpg,B,B,0.1,0.9");
        assertThatThrownBy(() -> Ensemble.of(List.of(one, other), "t")).isInstanceOf(UserException.class)
                .hasMessage(other + ": its images or their true classes differ from those of " + one
                        + " (2 against 2 images)");
        Path classes = tmp.resolve("classes.csv");
        Files.writeString(classes, "file,true,predicted,p_B,p_A\na.jpg,A,A,0.1,0.9\nb.jpg,B,B,0.9,0.1\n");
        assertThatThrownBy(() -> Ensemble.of(List.of(one, classes), "t"))
                .hasMessage(classes + ": classes [B, A] differ from [A, B] of " + one);
        assertThatThrownBy(() -> Ensemble.of(List.of(one), "t")).hasMessage("an ensemble needs at least two members; got 1");
        assertThatThrownBy(() -> Ensemble.of(List.of(one, tmp.resolve("x/../one.csv")), "t"))
                .hasMessageStartingWith("an ensemble's members must differ;");
        Path broken = tmp.resolve("broken.csv");
        Files.writeString(broken, "file,true,predicted,p_A,p_B\na.jpg,A,A,0.9,x\n");
        assertThatThrownBy(() -> Ensemble.of(List.of(one, broken), "t"))
                .hasMessage(broken + ": line 2: a probability is not a number");
        Path notCsv = tmp.resolve("metrics.json");
        Files.writeString(notCsv, "{}\n");
        assertThatThrownBy(() -> Ensemble.of(List.of(notCsv, one), "t"))
                .hasMessageStartingWith(notCsv + ": not a predictions.csv");
    }
}
