package org.wbctransfer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Option checks of wbc bench that fail before anything is measured. */
class BenchCommandTest {

    @TempDir
    Path tmp;

    @Test
    void askingForAMissingPeerIsAUserError() {
        WbcCliTest.Result r = WbcCliTest.run("bench", "--peer", "--peer-script", tmp.resolve("nope.py").toString());
        assertThat(r.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(r.err()).contains("cannot run the PyTorch peer").contains("nope.py not found");
    }

    @Test
    void tooSmallSizesAreRejected() {
        WbcCliTest.Result r = WbcCliTest.run("bench", "--no-peer", "--sizes", "16");
        assertThat(r.code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
        assertThat(r.err()).contains("at least 32");
    }

    @Test
    void helpListsThePeerAndTheLevers() {
        WbcCliTest.Result r = WbcCliTest.run("bench", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("--[no-]peer").contains("--channels-last").contains("--fp16-infer").contains("--out")
                .contains("64,96,128,224").contains("--no-fold-bn").contains("--fold-ab").contains("--peer-default-format");
    }

    @Test
    void foldAbPrintsBothInferenceRatesPerRoundAndSize() {
        WbcCliTest.Result r = WbcCliTest.run("bench", "--sizes", "32,48", "--batch", "4", "--steps", "1", "--fold-ab", "2");
        assertThat(r.code()).as(r.err()).isZero();
        // "32 px:  a / b  c / d  mean e / f (g.ggx)": two rounds of layers / folded, then the means.
        assertThat(r.out().lines().filter(l -> l.matches("(32|48) px:( +[0-9.]+ / [0-9.]+){2} +mean [0-9.]+ / [0-9.]+ \\([0-9.]+x\\)")))
                .as(r.out()).hasSize(2);
        assertThat(WbcCliTest.run("bench", "--fold-ab", "0").code()).isEqualTo(WbcCli.EXIT_USER_ERROR);
    }
}
