package org.wbctransfer.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.wbctransfer.config.Subset;
import org.wbctransfer.experiment.Cell;
import org.wbctransfer.experiment.ExperimentReport;
import org.wbctransfer.experiment.ExperimentRunner;
import org.wbctransfer.experiment.ExperimentSpec;
import org.wbctransfer.experiment.SearchTable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code wbc experiment}: the whole study grid, its results table, plots and report. */
@Command(name = "experiment", mixinStandardHelpOptions = true,
        description = "Run Baseline and Enhanced arms over the label budgets and seeds of a profile or experiment file,"
                + " then write results.md/csv/json, plots and report.html. Rerunning continues an interrupted grid."
                + " With --strict the whole dataset is checked before the first cell, and the first unusable file"
                + " stops the grid. A file with 'search: true' reads no test image: its cells are ranked by validation"
                + " macro F1 in search.csv/search.md instead.")
public final class ExperimentCommand implements Callable<Integer> {

    @Option(names = "--recipe", defaultValue = "quick",
            description = "Experiment file (YAML) or built-in profile: quick (about 5 min), cpu (about 2 h on 2 cores),"
                    + " ablation, paper (224 px, for a GPU: build with -Pcuda, see README). Default: ${DEFAULT-VALUE}")
    String recipe;

    @Option(names = {"-o", "--out"}, description = "Output folder. Default: runs/<experiment name>")
    Path out;

    @Mixin
    CacheOption cacheOption;

    @Option(names = "--report-only", description = "Only (re)write the report from the cells already finished")
    boolean reportOnly;

    @Option(names = "--dry-run", description = "Print the plan and the time estimate, run nothing")
    boolean dryRun;

    @Option(names = "--splits", split = ",", paramLabel = "SEED",
            description = "Run only these split seeds of the experiment (for example 3,0), so that processes can share"
                    + " a grid; the report covers every cell of the experiment. Default: all, in the file's order")
    List<Long> splits;

    @Option(names = "--arms", split = ",", paramLabel = "ARM",
            description = "Run only these arms (for example baseline,mixup-30), so that a long grid can run its most"
                    + " wanted cells first; the report covers every cell. Default: all")
    List<String> arms;

    @Option(names = "--budgets", split = ",", paramLabel = "BUDGET",
            description = "Run only these label budgets (for example WBC_50). Default: all")
    List<String> budgets;

    @Mixin
    ProgressOption progress;

    @Mixin
    StrictOption strictOption;

    @Override
    public Integer call() throws Exception {
        ExperimentSpec spec = ExperimentSpec.load(recipe);
        Path dir = out != null ? out : Path.of("runs", spec.name());
        ExperimentRunner runner = new ExperimentRunner(spec, dir, cacheOption.dir, progress.bars(), strictOption.strict);
        List<ExperimentRunner.Plan> plan = runner.plan();
        ExperimentRunner.Part part = new ExperimentRunner.Part(splits != null ? splits : List.of(),
                arms != null ? arms : List.of(),
                budgets != null ? budgets.stream().map(Subset::canonical).toList() : List.of());
        List<ExperimentRunner.Plan> mine = runner.plan(part);
        if (!reportOnly) {
            double minutes = runner.estimateMinutes(runner.manifest(mine.get(0).splitSeed()));
            System.out.printf(Locale.ROOT, "experiment %s: %d training runs (%d in this part), %d pre-training chains;"
                    + " estimated %.0f min for the whole grid on %d cores (rough: images to process / measured step"
                    + " throughput)%n", spec.name(), plan.size(), mine.size(),
                    plan.stream().filter(p -> p.arm().pretrain() != null).map(p -> p.arm().pretrain() + p.seed())
                            .distinct().count(), minutes, Runtime.getRuntime().availableProcessors());
            if (dryRun) {
                mine.forEach(p -> System.out.printf("  %s %s split %d seed %d, %d epochs -> %s%n", p.arm().name(),
                        p.subset(), p.splitSeed(), p.seed(), p.epochs(), p.runDir()));
                return 0;
            }
        }
        long t0 = System.nanoTime();
        if (reportOnly) {
            // The report describes this file's plan, whichever file the cells were trained from.
            runner.writeSpec();
        }
        List<Cell> cells = reportOnly
                ? plan.stream().map(ExperimentRunner.Plan::cell).toList()
                : runner.run(part);
        if (spec.searching()) {
            // No test figure exists: the candidates ranked on their validation carve-outs instead.
            SearchTable.write(dir, "wbc-transfer search '" + spec.name() + "'", cells, spec.arms());
            System.out.printf(Locale.ROOT, "search: %s (%s), ranked by validation macro F1; no test image read;"
                    + " %.1f min%n", dir.resolve(SearchTable.MD), dir.resolve(SearchTable.CSV),
                    (System.nanoTime() - t0) / 6e10);
            return 0;
        }
        ExperimentReport.write(dir, "wbc-transfer experiment '" + spec.name() + "'", cells, spec.armNotes());
        System.out.printf(Locale.ROOT, "report: %s (%s); %.1f min%n", dir.resolve("report.html"),
                dir.resolve("results.md"), (System.nanoTime() - t0) / 6e10);
        return 0;
    }
}
