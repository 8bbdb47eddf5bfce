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
                .contains("64,96,128,224");
    }
}
