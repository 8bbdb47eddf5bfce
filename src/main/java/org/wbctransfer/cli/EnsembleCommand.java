package org.wbctransfer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.wbctransfer.config.RunDir;
import org.wbctransfer.evaluation.Ensemble;
import org.wbctransfer.evaluation.Evaluation;
import org.wbctransfer.util.Json;
import org.wbctransfer.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code wbc ensemble}: several models' saved evaluations of the same images, averaged. */
@Command(name = "ensemble", mixinStandardHelpOptions = true,
        description = "Average the class probabilities that several models' evaluations saved (predictions.csv) on the"
                + " same images, and report the ensemble like 'wbc evaluate' does. No image is read again, so a test"
                + " split stays read once per model. The ensemble's inference cost is its members' together.")
public final class EnsembleCommand implements Callable<Integer> {

    @Parameters(arity = "2..*", paramLabel = "MEMBER",
            description = "Run directories (their eval-<name>/, see --eval) or evaluation folders holding predictions.csv")
    List<Path> members;

    @Option(names = "--eval", defaultValue = "test", paramLabel = "NAME",
            description = "Which evaluation of a run directory: eval-<NAME>/ (test, test-tta, pbc, ...). Default: ${DEFAULT-VALUE}")
    String eval;

    @Option(names = {"-o", "--out"}, required = true, description = "Output folder for the ensemble's reports")
    Path out;

    @Override
    public Integer call() throws Exception {
        List<Path> files = new ArrayList<>();
        for (Path m : members) {
            files.add(predictions(m));
        }
        String title = "ensemble of " + members.size() + " models";
        Ensemble.Scored s = Ensemble.of(files, title);
        Files.createDirectories(out);
        Evaluation.write(s.result(), s.files(), List.of(), out, title);
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("members", s.members());
        record.put("images", s.files().size());
        record.put("combination", "arithmetic mean of the members' class probabilities");
        record.put("inferenceCost", members.size() + " forward passes per image (one per member)");
        record.put("imagesEveryMemberGotWrong", s.everyMemberWrong());
        record.put("anyMemberRight", s.anyMemberRight());
        Json.write(out.resolve(RECORD), record);
        System.out.print(Evaluation.reportText(s.result()));
        for (Ensemble.Member m : s.members()) {
            System.out.printf(Locale.ROOT, "member %s: accuracy %.4f, macro F1 %.4f%n", m.predictions(), m.accuracy(),
                    m.macroF1());
        }
        System.out.printf(Locale.ROOT, "every member wrong on %d images: picking one member's call per image cannot pass"
                + " accuracy %.4f%n", s.everyMemberWrong(), s.anyMemberRight());
        System.out.printf(Locale.ROOT, "ensemble of %d: accuracy %.4f, macro F1 %.4f on %d images -> %s%n",
                members.size(), s.result().metrics().accuracy(), s.result().metrics().macroF1(), s.files().size(), out);
        return 0;
    }

    /** The file that records the members and the combination, beside the evaluation reports. */
    static final String RECORD = "ensemble.json";

    private Path predictions(Path member) {
        Path direct = member.resolve(Evaluation.PREDICTIONS);
        if (Files.isRegularFile(direct)) {
            return direct;
        }
        Path inRun = RunDir.of(member).eval(eval).resolve(Evaluation.PREDICTIONS);
        if (Files.isRegularFile(inRun)) {
            return inRun;
        }
        throw new UserException(member + ": no " + Evaluation.PREDICTIONS + " in it or in " + RunDir.EVAL_PREFIX + eval
                + "/ (expected an evaluation folder or a run directory evaluated by 'wbc evaluate')");
    }
}
