package org.wbctransfer.experiment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.TestData;
import org.wbctransfer.training.TrainConfig;
import org.wbctransfer.util.UserException;

class ExperimentRunnerTest {

    @TempDir
    Path tmp;

    @Test
    void cpuProfilePlansBothArmsOnAllBudgetsWithSharedPretrainingPerSeed() throws Exception {
        ExperimentRunner r = new ExperimentRunner(onRaabin("cpu"), tmp, tmp.resolve("cache"), false);
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
    void manifestIsDrawnOnceAndEstimateCountsOnlyUnfinishedCells() throws Exception {
        ExperimentRunner r = new ExperimentRunner(onRaabin("quick"), tmp, tmp.resolve("cache"), false);
        var manifest = r.manifest();
        assertThat(manifest.test()).hasSize(1728);
        byte[] first = Files.readAllBytes(r.manifestPath());
        r.manifest();
        assertThat(Files.readAllBytes(r.manifestPath())).isEqualTo(first);
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
        ExperimentRunner r = new ExperimentRunner(onRaabin("cpu"), tmp, tmp.resolve("cache"), false);
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

    /** A built-in profile pointed at the test copy of the Raabin images. */
    private static ExperimentSpec onRaabin(String profile) {
        ExperimentSpec spec = ExperimentSpec.load(profile);
        return new ExperimentSpec(spec.name(), spec.description(), TestData.raabin().toString(), spec.imageSize(),
                spec.batch(), spec.splitSeed(), spec.subsets(), spec.arms());
    }
}
