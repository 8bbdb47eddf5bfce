package org.wbctransfer.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelMetadata;
import org.wbctransfer.spark.SparkEvaluate;
import org.wbctransfer.spark.SparkPredict;
import org.wbctransfer.spark.SparkSettings;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code wbc spark predict|evaluate}: the model run over many images on Apache Spark, embedded
 * ({@code local[*]} in this JVM) unless a master is given. Spark's jars are only on the class path
 * that {@code bin/wbc spark} builds (target/spark-lib): no field or signature here names a Spark
 * type, so registering this command loads none of Spark; the jobs live in {@code org.wbctransfer.spark}.
 */
@Command(name = "spark", mixinStandardHelpOptions = true,
        description = "Classify or evaluate many images on Apache Spark (embedded local[*] by default, or a cluster"
                + " with --master / spark-submit). See README, \"Spark\".",
        subcommands = {SparkCommand.Predict.class, SparkCommand.Evaluate.class})
public final class SparkCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    /** Options every Spark subcommand shares. */
    static final class SparkOptions {
        @Option(names = "--master", description = "Spark master URL (local[2], spark://host:7077, yarn, k8s://...)."
                + " Default: the one spark-submit set, else local[*] inside this command")
        String master;

        @Option(names = "--task-threads", defaultValue = "1", description = "libtorch / ONNX Runtime threads per"
                + " task (executor cores give the parallelism; 0 keeps the JVM's setting). Default: ${DEFAULT-VALUE}")
        int taskThreads;

        @Option(names = "--ship-bundle", negatable = true, description = "Copy the bundle to every executor"
                + " (SparkContext.addFile); --no-ship-bundle reads it from its path, which every executor must see."
                + " Default: ship unless the master is local")
        Boolean shipBundle;

        @Option(names = "--batch", defaultValue = "32", description = "Images per forward pass. Default: ${DEFAULT-VALUE}")
        int batch;

        SparkSettings settings() {
            return new SparkSettings(master, taskThreads, shipBundle);
        }
    }

    /** Reads the bundle's metadata and picks the engine without loading the model (the executors do). */
    private static ModelMetadata metadata(Path modelDir) {
        return Json.read(modelDir.resolve(Classifier.METADATA), ModelMetadata.class);
    }

    /** Spark's classes are missing when the command is started without bin/wbc's Spark class path. */
    private static UserException noSpark(NoClassDefFoundError e) {
        return new UserException("Apache Spark is not on the class path (" + e.getMessage() + "); run 'bin/wbc spark ...'"
                + " after 'mvn -q -B package -DskipTests', which puts Spark's jars in target/spark-lib");
    }

    @Command(name = "predict", mixinStandardHelpOptions = true,
            description = "Classify every image of a folder tree (recursive, like 'wbc predict'), a glob, or a CSV/Parquet"
                    + " table with a 'path' column (paths through Hadoop's FileSystem: local, hdfs://, s3a://...) on Spark."
                    + " Writes a table: path, predicted, probability, p_<class>..., ood_score and out_of_distribution"
                    + " when the model has an out-of-distribution score, and error (why a file could not be classified;"
                    + " such files do not fail the job).")
    static final class Predict implements Callable<Integer> {

        @Parameters(index = "0", description = "Model bundle (from 'wbc export') or run directory")
        Path model;

        @Parameters(index = "1", description = "Folder, image file, glob (quoted), or .csv/.parquet table with a 'path' column")
        String input;

        @Option(names = {"-o", "--out"}, required = true, description = "Output table (a folder of part files)")
        String out;

        @Option(names = "--format", defaultValue = "parquet", description = "parquet or csv. Default: ${DEFAULT-VALUE}")
        String format;

        @Option(names = "--table", description = "Read the input as a Parquet table of paths whatever its name"
                + " (.csv and .parquet names are tables anyway)")
        boolean table;

        @Option(names = "--overwrite", description = "Replace an existing output table (default: refuse)")
        boolean overwrite;

        @Mixin
        SparkOptions spark = new SparkOptions();

        @Mixin
        EngineOption engineOption = new EngineOption();

        @Override
        public Integer call() throws Exception {
            Path modelDir = ModelDirs.resolve(model);
            ModelMetadata md = metadata(modelDir);
            String engine = engineOption.resolve(modelDir, md.onnx(), null);
            SparkPredict.Summary s;
            try {
                s = SparkPredict.run(new SparkPredict.Job(modelDir, engine, input, table, out, format, overwrite,
                        spark.batch, spark.settings()));
            } catch (NoClassDefFoundError e) {
                throw noSpark(e);
            }
            System.err.printf(Locale.ROOT, "wbc: %d image(s) classified, %d file(s) unreadable (in the 'error' column) on %s"
                    + " (%s engine); written to %s%n", s.images(), s.errors(), s.master(), engine, out);
            String warning = PredictCommand.oodWarning(md, (int) s.flagged(), (int) s.images());
            if (warning != null) {
                StrictOption.warn(warning);
            }
            return s.images() == 0 && s.errors() > 0 ? WbcCli.EXIT_USER_ERROR : 0;
        }
    }

    @Command(name = "evaluate", mixinStandardHelpOptions = true,
            description = "'wbc evaluate --folder' on Spark: metrics of a model on a class-per-folder test set"
                    + " (DIR/<Class>/<image>, class names matching the model's case-insensitively), the same reports.")
    static final class Evaluate implements Callable<Integer> {

        @Parameters(index = "0", description = "Model bundle (from 'wbc export') or run directory")
        Path model;

        @Parameters(index = "1", description = "Class-per-folder test set (a Hadoop path)")
        String folder;

        @Option(names = {"-o", "--out"}, description = "Output folder (local). Default: as 'wbc evaluate --folder'")
        Path out;

        @Mixin
        SparkOptions spark = new SparkOptions();

        @Mixin
        EngineOption engineOption = new EngineOption();

        @Override
        public Integer call() throws Exception {
            Path modelDir = ModelDirs.resolve(model);
            ModelMetadata md = metadata(modelDir);
            String engine = engineOption.resolve(modelDir, md.onnx(), null);
            String trimmed = folder.replaceAll("/+$", "");
            String name = org.wbctransfer.config.RunDir.EVAL_PREFIX + trimmed.substring(trimmed.lastIndexOf('/') + 1) + "-spark";
            Path o = out != null ? out : modelDir.equals(model) ? beside(model, "-" + name) : model.resolve(name);
            org.wbctransfer.evaluation.Evaluation.Result r;
            try {
                r = SparkEvaluate.run(new SparkEvaluate.Job(modelDir, engine, folder, o, spark.batch, spark.settings()),
                        StrictOption::warn);
            } catch (NoClassDefFoundError e) {
                throw noSpark(e);
            }
            TrainCommand.printEvaluation(r, o);
            return 0;
        }

        private static Path beside(Path bundle, String suffix) {
            Path abs = bundle.toAbsolutePath().normalize();
            return abs.resolveSibling(abs.getFileName() + suffix);
        }
    }
}
