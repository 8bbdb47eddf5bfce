package org.wbctransfer.experiment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;
import org.wbctransfer.config.TrainConfig;
import org.wbctransfer.util.UserException;

class ExperimentRunnerTest {

    @TempDir
    Path tmp;

    @Test
    void cpuProfilePlansBothArmsOnAllBudgetsWithSharedPretrainingPerSeed() throws Exception {
        ExperimentRunner r = new ExperimentRunner(onRaabin("cpu"), tmp, tmp.resolve("cache"), false, false);
        List<ExperimentRunner.Plan> plan = r.plan();
        // 2 arms x (3 + 3 + 1 + 1) seeds.
        assertThat(plan).hasSize(16);
        assertThat(r.pretrainSeeds()).containsOnlyKeys("enhanced");
        assertThat(r.pretrainSeeds().get("enhanced")).containsExactly(0L, 1L, 2L);
        ExperimentRunner.Plan e = plan.stream().filter(p -> p.arm().name().equals("enhanced") && p.subset().equals("WBC_10")
                && p.seed() == 1).findFirst().orElseThrow();
        assertThat(e.epochs()).isEqualTo(90); // 60 x the arm's 1.5 schedule
        assertThat(e.runDir()).isEqualTo(tmp.resolve("enhanced/WBC_10-seed1"));
        TrainConfig c = r.config(e, tmp.resolve("bundle").toString());
        assertThat(c.learningRate()).isEqualTo(5e-4);
        assertThat(c.effectiveBackboneLrScale()).isEqualTo(1.0);
        assertThat(c.init()).isEqualTo(tmp.resolve("bundle").toAbsolutePath().normalize().toString());
        assertThat(c.warmupEpochs()).isEqualTo(4.5); // 5 % of 90
        assertThat(c.unfreezeEpoch()).isZero();
        assertThat(r.pretrainDir("enhanced", 2)).isEqualTo(tmp.resolve("pretrain/enhanced-seed2"));
    }

    @Test
    void theConfirmationGridRunsEachSplitWithItsOwnManifestAndSharesPretraining() throws Exception {
        ExperimentSpec spec = onRaabin("experiments/confirm.yaml");
        assertThat(spec.splits()).containsExactly(1L, 2L, 3L, 0L);
        ExperimentRunner r = new ExperimentRunner(spec, tmp, tmp.resolve("cache"), false, false);
        List<ExperimentRunner.Plan> plan = r.plan();
        // 4 splits x 3 arms x 2 budgets x 1 seed, fresh splits first, the development split last.
        assertThat(plan).hasSize(24);
        assertThat(plan.subList(0, 6)).allMatch(p -> p.splitSeed() == 1);
        assertThat(plan.subList(18, 24)).allMatch(p -> p.splitSeed() == 0);
        assertThat(r.pretrainSeeds().get("enhanced")).containsExactly(0L);
        ExperimentRunner.Plan student = plan.stream().filter(p -> p.arm().name().equals("enhanced-selftrain-nw")
                && p.subset().equals("WBC_10") && p.splitSeed() == 2).findFirst().orElseThrow();
        assertThat(student.runDir()).isEqualTo(tmp.resolve("enhanced-selftrain-nw/WBC_10-split2-seed0"));
        TrainConfig c = r.config(student, tmp.resolve("bundle").toString());
        // The teacher is the same split's model, and the student reads that split's manifest.
        assertThat(c.pseudoTeacher()).endsWith("enhanced/WBC_10-split2-seed0/model");
        assertThat(c.manifest()).endsWith("split-seed2.csv");
        assertThat(c.classWeighted()).isFalse();
        assertThat(r.manifest(2).test()).hasSize(1728);
        assertThat(r.manifest(2).test()).isNotEqualTo(r.manifest(3).test());
        assertThat(r.manifest(2).seed()).isEqualTo(2);
    }

    @Test
    void aPartOfTheGridKeepsTheGridsOrderAndRefusesWhatTheGridLacks() throws Exception {
        ExperimentRunner r = new ExperimentRunner(onRaabin("experiments/confirm-full-budget.yaml"), tmp,
                tmp.resolve("cache"), false, false);
        assertThat(r.plan()).hasSize(18);
        List<ExperimentRunner.Plan> part = r.plan(new ExperimentRunner.Part(List.of(6L, 5L),
                List.of("mixup-30", "baseline"), List.of("WBC_100")));
        assertThat(part).extracting(p -> p.arm().name() + " " + p.subset() + " " + p.splitSeed() + " " + p.epochs())
                .containsExactly("baseline WBC_100 5 20", "mixup-30 WBC_100 5 30", "baseline WBC_100 6 20",
                        "mixup-30 WBC_100 6 30");
        assertThat(r.plan(new ExperimentRunner.Part(List.of(), List.of(), List.of()))).isEqualTo(r.plan());
        assertThatThrownBy(() -> r.plan(new ExperimentRunner.Part(List.of(), List.of("mixup"), List.of())))
                .isInstanceOf(UserException.class)
                .hasMessage("arms [mixup] are not among the experiment's [baseline, mixup-30, mixup-30-refit]");
        assertThatThrownBy(() -> r.plan(new ExperimentRunner.Part(List.of(0L), List.of(), List.of())))
                .hasMessage("split seeds [0] are not among the experiment's [4, 5, 6]");
        assertThatThrownBy(() -> r.plan(new ExperimentRunner.Part(List.of(), List.of(), List.of("WBC_10"))))
                .hasMessage("budgets [WBC_10] are not among the experiment's [WBC_50, WBC_100]");
    }

    @Test
    void splitSeedAndSplitSeedsTogetherAreRefused() throws Exception {
        Path f = tmp.resolve("t.yaml");
        Files.writeString(f, "name: x\nsplitSeed: 1\nsplitSeeds: [1, 2]\nsubsets: {WBC_1: {seeds: [0], epochs: 1}}\n"
                + "arms: [{name: b}]\n");
        assertThatThrownBy(() -> ExperimentSpec.load(f.toString())).isInstanceOf(UserException.class)
                .hasMessageContaining("either 'splitSeed' or a non-empty 'splitSeeds'");
        Files.writeString(f, "name: x\nsplitSeeds: [1, 1]\nsubsets: {WBC_1: {seeds: [0], epochs: 1}}\narms: [{name: b}]\n");
        assertThatThrownBy(() -> ExperimentSpec.load(f.toString())).isInstanceOf(UserException.class);
    }

    @Test
    void manifestIsDrawnOnceAndEstimateCountsOnlyUnfinishedCells() throws Exception {
        ExperimentRunner r = new ExperimentRunner(onRaabin("quick"), tmp, tmp.resolve("cache"), false, false);
        var manifest = r.manifest();
        assertThat(manifest.test()).hasSize(1728);
        byte[] first = Files.readAllBytes(r.manifestPath(0));
        r.manifest();
        assertThat(Files.readAllBytes(r.manifestPath(0))).isEqualTo(first);
        double all = r.estimateMinutes(manifest);
        assertThat(all).isPositive().isLessThan(10); // the quick profile's promise
        ExperimentRunner.Plan p = r.plan().get(0);
        Files.createDirectories(p.runDir().resolve("eval-test"));
        Files.writeString(p.runDir().resolve("eval-test/metrics.json"), "{}");
        assertThat(r.estimateMinutes(manifest)).isLessThan(all);
    }

    @Test
    void timeLeftFollowsTheRunsOwnPace() {
        // Nothing measured yet (under 2 estimated minutes done): the rough estimate as it is.
        assertThat(ExperimentRunner.minutesLeft(100, 99, 3)).isEqualTo(99);
        // 20 estimated minutes took 30: the remaining 80 will take about 120.
        assertThat(ExperimentRunner.minutesLeft(100, 80, 30)).isEqualTo(120);
        // A faster machine: 20 estimated minutes in 10.
        assertThat(ExperimentRunner.minutesLeft(100, 80, 10)).isEqualTo(40);
    }

    @Test
    void estimateLeavesOutFinishedPretrainingStages() throws Exception {
        ExperimentRunner r = new ExperimentRunner(onRaabin("cpu"), tmp, tmp.resolve("cache"), false, false);
        var manifest = r.manifest();
        double all = r.estimateMinutes(manifest);
        // The first stage of seed 0's Enhanced chain is done.
        Path bundle = r.pretrainDir("enhanced", 0).resolve("1-camelyon/backbone");
        Files.createDirectories(bundle);
        Files.writeString(bundle.resolve(org.wbctransfer.model.BackboneBundle.METADATA), "{}");
        double less = r.estimateMinutes(manifest);
        assertThat(less).isLessThan(all);
        // 3 epochs of 8,000 patches at the 64 px pace: minutes, not the whole grid.
        assertThat(all - less).isPositive().isLessThan(10.0);
    }

    @Test
    void badExperimentFilesAreUserErrors() throws Exception {
        assertThatThrownBy(() -> ExperimentSpec.load("nope")).isInstanceOf(UserException.class).hasMessageContaining("quick");
        Path f = tmp.resolve("x.yaml");
        Files.writeString(f, "name: x\narms: []\n");
        assertThatThrownBy(() -> ExperimentSpec.load(f.toString())).isInstanceOf(UserException.class)
                .hasMessageContaining("arms");
        Files.writeString(f, "name: x\nsubsets: {WBC_1: {seeds: [0], epochs: 1}}\narms: [{name: 'a b'}]\n");
        assertThatThrownBy(() -> ExperimentSpec.load(f.toString())).isInstanceOf(UserException.class)
                .hasMessageContaining("arm names");
    }

    @Test
    void selfTrainingArmsLearnFromTheirTeachersCellOfTheSameBudgetAndSeed() throws Exception {
        ExperimentSpec spec = onRaabin("experiments/selftrain.yaml");
        ExperimentRunner r = new ExperimentRunner(spec, tmp, tmp.resolve("cache"), false, false);
        List<ExperimentRunner.Plan> plan = r.plan();
        assertThat(plan).hasSize(4 * 6);
        ExperimentRunner.Plan student = find(plan, "enhanced-selftrain", "WBC_1", 2);
        assertThat(student.epochs()).isEqualTo(15);
        // Teachers train first: the grid runs cells in plan order.
        assertThat(plan.indexOf(find(plan, "enhanced", "WBC_1", 2))).isLessThan(plan.indexOf(student));
        TrainConfig c = r.config(student, tmp.resolve("bundle").toString());
        assertThat(c.pseudoTeacher()).isEqualTo(tmp.resolve("enhanced/WBC_1-seed2/model").toAbsolutePath().normalize().toString());
        assertThat(c.pseudoThreshold()).isEqualTo(0.9);
        assertThat(c.learningRate()).isEqualTo(5e-4);
        assertThat(c.effectiveBackboneLrScale()).isEqualTo(1.0);
        TrainConfig b = r.config(find(plan, "baseline-selftrain", "WBC_10", 0), null);
        assertThat(b.pseudoTeacher()).endsWith("baseline/WBC_10-seed0/model");
        assertThat(b.init()).isNull();
        assertThat(b.epochs()).isEqualTo(15);
        assertThat(r.config(find(plan, "baseline", "WBC_10", 0), null).pseudoTeacher()).isNull();
        // A student's epochs cover the pool too: it costs far more than its teacher's budget alone.
        var manifest = r.manifest();
        ExperimentRunner teachers = new ExperimentRunner(new ExperimentSpec("t", null, spec.data(), 64, null, 0L, null, null,
                spec.subsets(), spec.arms().subList(0, 1), null, null, null), tmp.resolve("x"), tmp.resolve("cache"), false, false);
        ExperimentRunner withStudents = new ExperimentRunner(new ExperimentSpec("s", null, spec.data(), 64, null, 0L, null, null,
                spec.subsets(), List.of(spec.arms().get(0), spec.arms().get(2)), null, null, null), tmp.resolve("x"), tmp.resolve("cache"), false, false);
        // 6 students x 15 epochs x about 8,400 images at 270 images/s: about 50 minutes.
        assertThat(withStudents.estimateMinutes(manifest) - teachers.estimateMinutes(manifest)).isBetween(40.0, 65.0);
    }

    @Test
    void anArmCanTrainWithoutClassWeightsAndTheOthersKeepThem() throws Exception {
        ExperimentSpec spec = onRaabin("experiments/selftrain-noweights.yaml");
        ExperimentRunner r = new ExperimentRunner(spec, tmp, tmp.resolve("cache"), false, false);
        List<ExperimentRunner.Plan> plan = r.plan();
        assertThat(plan).hasSize(6 * 6 + 2 * 3);
        TrainConfig enhancedPlain = r.config(find(plan, "enhanced-nw", "WBC_10", 2), tmp.resolve("bundle").toString());
        assertThat(enhancedPlain.classWeighted()).isFalse();
        assertThat(enhancedPlain.epochs()).isEqualTo(90);
        assertThat(enhancedPlain.pseudoTeacher()).isNull();
        TrainConfig plain = r.config(find(plan, "enhanced-selftrain-nw", "WBC_10", 1), tmp.resolve("bundle").toString());
        assertThat(plain.classWeighted()).isFalse();
        assertThat(plain.pseudoTeacher()).endsWith("enhanced/WBC_10-seed1/model");
        assertThat(plain.epochs()).isEqualTo(15);
        assertThat(plain.learningRate()).isEqualTo(5e-4);
        assertThat(r.config(find(plan, "baseline-selftrain-nw", "WBC_1", 0), null).classWeighted()).isFalse();
        // Everything else in the file is the round-1 grid, class-weighted as before.
        assertThat(r.config(find(plan, "enhanced-selftrain", "WBC_10", 1), tmp.resolve("bundle").toString())
                .classWeighted()).isTrue();
        assertThat(r.config(find(plan, "baseline", "WBC_1", 0), null).classWeighted()).isTrue();
    }

    @Test
    void armsOverrideTheStandardAugmentationAndOutsideSetsAreCheckedBeforeAnyCellRuns() throws Exception {
        ExperimentSpec spec = onRaabin("experiments/outside-dev.yaml");
        ExperimentRunner r = new ExperimentRunner(spec, tmp, tmp.resolve("cache"), false, false);
        List<ExperimentRunner.Plan> plan = r.plan();
        org.wbctransfer.config.Augmentation both = r.config(find(plan, "zoom-colour", "WBC_10", 0), null).augmentation();
        assertThat(both.zoomMin()).isEqualTo(0.5);
        assertThat(both.zoomMax()).isEqualTo(2.0);
        assertThat(both.stain()).isEqualTo(0.05);
        assertThat(both.saturation()).isEqualTo(0.25);
        // Not overridden: the standard recipe's flips and right-angle rotations.
        assertThat(both.flip()).isTrue();
        assertThat(both.rotation()).isEqualTo(org.wbctransfer.config.Augmentation.Rotation.RIGHT_ANGLE);
        assertThat(r.config(find(plan, "zoom", "WBC_10", 0), null).augmentation().stain()).isZero();

        Path f = tmp.resolve("o.yaml");
        Files.writeString(f, "name: x\nsubsets: {WBC_1: {seeds: [0], epochs: 1}}\n"
                + "arms: [{name: b, augmentation: {zoom: 2}}]\n");
        assertThatThrownBy(() -> ExperimentSpec.load(f.toString())).isInstanceOf(UserException.class)
                .hasMessageContaining("unknown augmentation field 'zoom'");
        Files.writeString(f, "name: x\nsubsets: {WBC_1: {seeds: [0], epochs: 1}}\n"
                + "arms: [{name: b, augmentation: {zoomMin: 3, zoomMax: 2}}]\n");
        assertThatThrownBy(() -> ExperimentSpec.load(f.toString())).isInstanceOf(UserException.class)
                .hasMessageContaining("zoom range");
        Files.writeString(f, "name: x\nsubsets: {WBC_1: {seeds: [0], epochs: 1}}\narms: [{name: b}]\n"
                + "outsideSets: [{name: pbc, path: a}, {name: pbc, path: b}]\n");
        assertThatThrownBy(() -> ExperimentSpec.load(f.toString())).isInstanceOf(UserException.class)
                .hasMessageContaining("outside set 'pbc' is listed twice");
    }

    @Test
    void anArmsTrainingLeversReachItsCellsConfigAndTheSearchTable() throws Exception {
        Path f = tmp.resolve("l.yaml");
        String head = "name: x\ndata: " + TestData.raabin() + "\nsubsets: {WBC_1: {seeds: [0], epochs: 1}}\n";
        Files.writeString(f, head + "arms: [{name: b}, {name: all, labelSmoothing: 0.1, mixup: 0.2, cutmix: 1.0,"
                + " emaDecay: 0.999}]\n");
        ExperimentSpec spec = ExperimentSpec.load(f.toString());
        ExperimentRunner r = new ExperimentRunner(spec, tmp, tmp.resolve("cache"), false, false);
        List<ExperimentRunner.Plan> plan = r.plan();
        TrainConfig all = r.config(find(plan, "all", "WBC_1", 0), null);
        assertThat(all).extracting(TrainConfig::labelSmoothing, TrainConfig::mixup, TrainConfig::cutmix,
                TrainConfig::emaDecay).containsExactly(0.1, 0.2, 1.0, 0.999);
        assertThat(r.config(find(plan, "b", "WBC_1", 0), null)).extracting(TrainConfig::labelSmoothing,
                TrainConfig::mixup, TrainConfig::cutmix, TrainConfig::emaDecay).containsExactly(0.0, 0.0, 0.0, 0.0);
        assertThat(SearchTable.settings(spec.arms().get(1)))
                .isEqualTo("labelSmoothing: 0.1, mixup: 0.2, cutmix: 1.0, emaDecay: 0.999");
        assertThat(SearchTable.settings(spec.arms().get(0))).isEqualTo("defaults");

        Files.writeString(f, head + "arms: [{name: b, emaDecay: 1.5}]\n");
        assertThatThrownBy(() -> ExperimentSpec.load(f.toString())).isInstanceOf(UserException.class)
                .hasMessageEndingWith("arm 'b': EMA decay must be in [0, 1) (0 is off), got 1.5");
        Files.writeString(f, head + "arms: [{name: b}, {name: r, refit: b, mixup: 0.2}]\n");
        assertThatThrownBy(() -> ExperimentSpec.load(f.toString())).isInstanceOf(UserException.class)
                .hasMessageContaining("give it only name, refit, subsets and chosenOn");
    }

    @Test
    void anArmChoosesGroupNormFromScratchAndNothingThatNeedsBatchNorm() throws Exception {
        Path f = tmp.resolve("n.yaml");
        String head = "name: x\ndata: " + TestData.raabin() + "\nsubsets: {WBC_1: {seeds: [0], epochs: 1}}\n";
        Files.writeString(f, head + "arms: [{name: b}, {name: gn, norm: group, augmentation: {stain: 0.05}}]\n");
        ExperimentRunner r = new ExperimentRunner(ExperimentSpec.load(f.toString()), tmp, tmp.resolve("cache"), false, false);
        List<ExperimentRunner.Plan> plan = r.plan();
        assertThat(r.config(find(plan, "b", "WBC_1", 0), null).norm()).isEqualTo(TrainConfig.Norm.BATCH);
        TrainConfig gn = r.config(find(plan, "gn", "WBC_1", 0), null);
        assertThat(gn.norm()).isEqualTo(TrainConfig.Norm.GROUP);
        assertThat(gn.augmentation().stain()).isEqualTo(0.05);

        Files.writeString(f, head + "arms: [{name: gn, norm: group, pretrain: enhanced}]\n");
        assertThatThrownBy(() -> ExperimentSpec.load(f.toString())).isInstanceOf(UserException.class)
                .hasMessageContaining("arm 'gn' has norm group and pretrain 'enhanced': pre-trained backbones are BatchNorm");
        Files.writeString(f, head + "arms: [{name: gn, norm: group}]\noutsideSets: [{name: pbc, path: p, adaptBn: true}]\n");
        assertThatThrownBy(() -> ExperimentSpec.load(f.toString())).isInstanceOf(UserException.class)
                .hasMessageContaining("outside set 'pbc' has adaptBn, but arm 'gn' (norm group) has no BatchNorm statistics");
        Files.writeString(f, head + "arms: [{name: gn, norm: instance}]\n");
        assertThatThrownBy(() -> ExperimentSpec.load(f.toString())).isInstanceOf(UserException.class)
                .hasMessageContaining("unknown normalisation 'instance' (expected batch, group or layer)");
        Files.writeString(f, head + "arms: [{name: ln, norm: layer, pretrain: enhanced}]\n");
        assertThatThrownBy(() -> ExperimentSpec.load(f.toString())).isInstanceOf(UserException.class)
                .hasMessageContaining("arm 'ln' has norm layer and pretrain 'enhanced': pre-trained backbones are BatchNorm");
    }

    @Test
    void aModelIsNotScoredOnImagesItsPreTrainingRead() {
        Path wbcSeg = TestData.datasets().resolve("wbc-seg");
        ExperimentSpec.Arm enhanced = new ExperimentSpec.Arm("e", "enhanced", null, null, null, null, null, null, null,
                null, null, null, null, null, null, null, null, null, null, null, null, null);
        // The enhanced chain's masks stage reads all of wbc-seg.
        assertThat(ExperimentRunner.seenByPretraining(enhanced, wbcSeg.resolve("tecom"))).isEqualTo("masks");
        assertThat(ExperimentRunner.seenByPretraining(enhanced, TestData.datasets().resolve("pbc"))).isNull();
        ExperimentSpec.Arm scratch = new ExperimentSpec.Arm("b", null, null, null, null, null, null, null, null,
                null, null, null, null, null, null, null, null, null, null, null, null, null);
        assertThat(ExperimentRunner.seenByPretraining(scratch, wbcSeg.resolve("tecom"))).isNull();
    }

    @Test
    void aTeacherMustBeAnEarlierArmThatRunsTheSameBudgets() throws Exception {
        Path f = tmp.resolve("t.yaml");
        Files.writeString(f, "name: x\nsubsets: {WBC_1: {seeds: [0], epochs: 1}}\n"
                + "arms: [{name: s, teacher: b}, {name: b}]\n");
        assertThatThrownBy(() -> ExperimentSpec.load(f.toString())).isInstanceOf(UserException.class)
                .hasMessageContaining("teacher 'b', which is not an arm listed before it");
        Files.writeString(f, "name: x\nsubsets: {WBC_1: {seeds: [0], epochs: 1}, WBC_10: {seeds: [0], epochs: 1}}\n"
                + "arms: [{name: b, subsets: [WBC_1]}, {name: s, teacher: b}]\n");
        assertThatThrownBy(() -> ExperimentSpec.load(f.toString())).isInstanceOf(UserException.class)
                .hasMessageContaining("runs budgets its teacher 'b' does not");
    }

    @Test
    void groupByDrawsEverySplitSeedsManifestGrouped() throws Exception {
        ExperimentSpec q = onRaabin("quick");
        ExperimentSpec spec = new ExperimentSpec(q.name(), q.description(), q.data(), q.imageSize(), q.batch(), null,
                List.of(1L, 2L), "^([^_]+)_", q.subsets(), q.arms(), null, null, null);
        ExperimentRunner r = new ExperimentRunner(spec, tmp, tmp.resolve("cache"), false, false);
        var one = r.manifest(1);
        assertThat(one.groupBy()).isEqualTo("^([^_]+)_");
        // As SplitManifestTest's split seed 1: whole smears (capture days for the basophils) on each side.
        assertThat(one.countPerClass(one.test())).containsExactly(49, 126, 414, 95, 1068);
        assertThat(Files.readString(r.manifestPath(1))).contains("\n# group-by: ^([^_]+)_\n");
        assertThat(r.manifest(2).groupBy()).isEqualTo("^([^_]+)_");
        assertThat(r.manifest(2).test()).isNotEqualTo(one.test());
        // Without groupBy the same grid draws the image-level split.
        var plain = new ExperimentRunner(q, tmp.resolve("plain"), tmp.resolve("cache"), false, false).manifest();
        assertThat(plain.groupBy()).isNull();
        assertThat(plain.test()).hasSize(1728);
    }

    @Test
    void groupByIsReadFromTheFileAndABadPatternIsAUserError() throws Exception {
        Path f = tmp.resolve("g.yaml");
        Files.writeString(f, "name: x\ngroupBy: '^([^_]+)_'\nsubsets: {WBC_1: {seeds: [0], epochs: 1}}\narms: [{name: b}]\n");
        ExperimentSpec spec = ExperimentSpec.load(f.toString());
        assertThat(spec.groupBy()).isEqualTo("^([^_]+)_");
        assertThat(spec.groupPattern().pattern()).isEqualTo("^([^_]+)_");
        assertThat(ExperimentSpec.load("quick").groupPattern()).isNull();
        Files.writeString(f, "name: x\ngroupBy: '^([^_]+_'\nsubsets: {WBC_1: {seeds: [0], epochs: 1}}\narms: [{name: b}]\n");
        assertThatThrownBy(() -> ExperimentSpec.load(f.toString())).isInstanceOf(UserException.class)
                .hasMessageStartingWith(f + ": groupBy: '^([^_]+_' is not a valid regular expression");
    }

    private static ExperimentRunner.Plan find(List<ExperimentRunner.Plan> plan, String arm, String subset, long seed) {
        return plan.stream().filter(p -> p.arm().name().equals(arm) && p.subset().equals(subset) && p.seed() == seed)
                .findFirst().orElseThrow();
    }

    /** A built-in profile pointed at the test copy of the Raabin images. */
    private static ExperimentSpec onRaabin(String profile) {
        ExperimentSpec spec = ExperimentSpec.load(profile);
        return new ExperimentSpec(spec.name(), spec.description(), TestData.raabin().toString(), spec.imageSize(),
                spec.batch(), spec.splitSeed(), spec.splitSeeds(), spec.groupBy(), spec.subsets(), spec.arms(), spec.outsideSets(),
                spec.search(), spec.minValSubset());
    }
}
