package org.backplane.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The short soak that runs in every build: 20 seconds of faults, resets, a greedy stream and leaked
 * streams (the 30-minute run is recorded in results/soak-cpu.md).
 */
class SoakTest {
    @Test
    @Timeout(180)
    void twentySecondsOfFaultsResetsCacheBuildupAndLeaksLeaveNothingWrongHungOrBehind() throws Exception {
        Soak.Result r = new Soak(Duration.ofSeconds(20), 3, 7).run();
        String report = Soak.report(r, "SoakTest");
        assertThat(r.checked()).as(report).isPositive();
        assertThat(r.wrong()).as(report).isZero();
        assertThat(r.hangs()).as(report).isZero();
        assertThat(r.problems()).as(report).isEmpty();
        assertThat(r.failures())
                .as("faults were injected and reported: %s", report)
                .isNotEmpty();
        assertThat(r.greedyCycles()).as(report).isPositive();
        assertThat(r.end().usage().openStreams())
                .as("leaked streams were found and closed: %s", report)
                .isZero();
        assertThat(r.end().usage().memoryUsedBytes()).as(report).isZero();
        assertThat(r.end().threads()).as(report).isLessThanOrEqualTo(r.start().threads() + 2);
    }
}
