package org.wbctransfer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.evaluation.EvaluationReport;

class EnsembleCommandTest {

    @TempDir
    Path tmp;

    @Test
    void averagesARunsTestEvaluationWithAnEvaluationFolderAndRecordsTheMembers() throws Exception {
        Path run = tmp.resolve("run");
        Files.createDirectories(run.resolve("eval-test"));
        Files.writeString(run.resolve("eval-test/predictions.csv"),
                "file,true,predicted,p_A,p_B\na.jpg,A,B,0.40000,0.60000\nb.jpg,B,B,0.10000,0.90000\n");
        Path folder = tmp.resolve("other-eval");
        Files.createDirectories(folder);
        Files.writeString(folder.resolve("predictions.csv"),
                "file,true,predicted,p_A,p_B\na.jpg,A,A,0.90000,0.10000\nb.jpg,B,A,0.55000,0.45000\n");
        Path out = tmp.resolve("ens");
        WbcCliTest.Result r = WbcCliTest.run("ensemble", run.toString(), folder.toString(), "-o", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("ensemble of 2: accuracy 1.0000, macro F1 1.0000 on 2 images")
                .contains("eval-test/predictions.csv: accuracy 0.5000");
        assertThat(EvaluationReport.readJson(out.resolve("metrics.json")).accuracy()).isEqualTo(1.0);
        assertThat(Files.readString(out.resolve("predictions.csv"))).contains("a.jpg,A,A,0.65000,0.35000");
        assertThat(Files.readString(out.resolve("ensemble.json"))).contains("\"inferenceCost\" : \"2 forward passes")
                .contains("\"imagesEveryMemberGotWrong\" : 0").contains("\"anyMemberRight\" : 1.0");
        assertThat(r.out()).contains("every member wrong on 0 images: picking one member's call per image cannot pass accuracy 1.0000");

        WbcCliTest.Result missing = WbcCliTest.run("ensemble", run.toString(), tmp.toString(), "-o", out.toString());
        assertThat(missing.code()).isNotZero();
        assertThat(missing.err().strip()).endsWith(tmp + ": no predictions.csv in it or in eval-test/ (expected an"
                + " evaluation folder or a run directory evaluated by 'wbc evaluate')");
    }
}
