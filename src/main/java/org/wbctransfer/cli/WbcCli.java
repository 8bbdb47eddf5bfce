package org.wbctransfer.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.wbctransfer.util.UserException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code wbc} command. */
@Command(name = "wbc", mixinStandardHelpOptions = true, versionProvider = WbcCli.Version.class,
        description = "White-blood-cell classification with ResNet-18 and transfer learning.",
        subcommands = {SplitCommand.class, TrainCommand.class, EvaluateCommand.class, ExportCommand.class, AdaptCommand.class, CalibrateCommand.class, OodStudyCommand.class, PredictCommand.class, ExplainCommand.class, GradCamStudyCommand.class, ServeCommand.class, PretrainCommand.class, ExperimentCommand.class, EnsembleCommand.class, CellCropCommand.class, BenchCommand.class, SparkCommand.class, CommandLine.HelpCommand.class})
public final class WbcCli implements Callable<Integer> {

    /** {@code wbc -V}: the version models record in their metadata, from one place. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"wbc-transfer " + org.wbctransfer.util.Versions.wbc()};
        }
    }

    /** Exit code for bad input: a missing folder, a bad file, an invalid option value. */
    public static final int EXIT_USER_ERROR = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (tests call this instead of main). */
    public static int run(String... args) {
        CommandLine cl = newCommandLine();
        return cl.execute(args);
    }

    public static CommandLine newCommandLine() {
        CommandLine cl = new CommandLine(new WbcCli());
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            Throwable t = ex;
            while (!(t instanceof UserException) && t.getCause() != null && t.getCause() != t) {
                t = t.getCause();
            }
            // The root's writer: subcommands keep the one they were built with.
            PrintWriter err = cl.getErr();
            if (t instanceof UserException) {
                err.println("wbc: error: " + t.getMessage());
                err.flush();
                return EXIT_USER_ERROR;
            }
            if (ex instanceof java.io.IOException || ex instanceof java.io.UncheckedIOException) {
                err.println("wbc: error: " + ex.getMessage());
                err.flush();
                return 1;
            }
            throw ex;
        });
        return cl;
    }
}
