package org.wbctransfer.experiment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.wbctransfer.util.UserException;

class SearchTableTest {

    @TempDir
    Path tmp;

    static SearchTable.Row row(String arm, long seed, double f1, double acc) {
        return new SearchTable.Row(arm, "WBC_50", 0, seed, f1, acc, 4, 30, 1.5, 3801, 422, "defaults");
    }

    @Test
    void candidatesRankByValidationMacroF1ThenAccuracyThenName() {
        List<SearchTable.Row> ranked = SearchTable.rank(List.of(row("a", 0, 0.80, 0.90), row("b", 0, 0.85, 0.88),
                row("c", 0, 0.80, 0.93), row("a", 1, 0.80, 0.90)));
        assertThat(ranked).extracting(r -> r.arm() + r.seed()).containsExactly("b0", "c0", "a0", "a1");
        String csv = SearchTable.csv(ranked);
        assertThat(csv.lines().toList()).containsExactly(String.join(",", SearchTable.HEADER),
                "1,b,WBC_50,0,0,0.85,0.88,4,30,1.50,3801,422,defaults",
                "2,c,WBC_50,0,0,0.8,0.93,4,30,1.50,3801,422,defaults",
                "3,a,WBC_50,0,0,0.8,0.9,4,30,1.50,3801,422,defaults",
                "4,a,WBC_50,0,1,0.8,0.9,4,30,1.50,3801,422,defaults");
        assertThat(SearchTable.markdown("t", ranked, List.of("x / WBC_1 / split 0 / seed 0")))
                .contains("| 1 | b | WBC_50 | 0 | 0 | 0.8500 | 0.8800 | 4 | 30 | 1.50 | 3801 | 422 | defaults |")
                .contains("Not finished (1): x / WBC_1 / split 0 / seed 0");
    }

    ExperimentSpec load(String body) throws Exception {
        Path f = tmp.resolve("g.yaml");
        Files.writeString(f, "name: g\nsubsets: {WBC_50: {seeds: [0], epochs: 2}}\n" + body);
        return ExperimentSpec.load(f.toString());
    }

    @Test
    void aRefitArmTakesAnEarlierArmsSettingsAndHasNoPlaceInASearch() throws Exception {
        ExperimentSpec s = load("arms: [{name: b, lr: 0.002, epochsScale: 2}, {name: b-refit, refit: b}]\n");
        assertThat(s.searching()).isFalse();
        assertThat(s.validationFloor()).isEqualTo(1000);
        ExperimentRunner r = new ExperimentRunner(s, tmp, tmp.resolve("cache"), false, false);
        // At most the epochs of the cell it refits.
        assertThat(r.plan()).extracting(p -> p.arm().name() + ":" + p.epochs()).containsExactly("b:4", "b-refit:4");
        assertThatThrownBy(() -> load("search: true\narms: [{name: b}, {name: b-refit, refit: b}]\n"))
                .isInstanceOf(UserException.class).hasMessageContaining("no validation figures to rank");
        assertThatThrownBy(() -> load("arms: [{name: b-refit, refit: b}, {name: b}]\n"))
                .isInstanceOf(UserException.class).hasMessageContaining("not an arm listed before it");
        assertThatThrownBy(() -> load("arms: [{name: b}, {name: b-refit, refit: b, lr: 0.01}]\n"))
                .isInstanceOf(UserException.class).hasMessageContaining("give it only name, refit, subsets and chosenOn");
        assertThatThrownBy(() -> load("minValSubset: 1\narms: [{name: b}]\n")).isInstanceOf(UserException.class);
        assertThat(load("search: true\nminValSubset: 20\narms: [{name: b}]\n").validationFloor()).isEqualTo(20);
    }
}
