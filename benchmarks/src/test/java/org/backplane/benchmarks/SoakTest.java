package org.backplane.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.backplane.isolation.IsolationSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The short soaks that run in every build: faults, resets, a greedy stream, leaked streams and
 * streams closed under their waiters, in the host for 20 seconds and isolated in a worker process
 * for 90 (the 30-minute runs are recorded in results/soak-cpu.md and results/soak-cpu-isolated.md).
 */
class SoakTest {
    @Test
    @Timeout(180)
    void twentySecondsOfFaultsResetsCacheBuildupAndLeaksLeaveNothingWrongHungOrBehind() throws Exception {
        check(new Soak(Duration.ofSeconds(20), 3, 7).run());
    }

    /** The chaos test of isolation: everything a host may do, racing, and the worker never lost. */
    @Test
    @Timeout(300)
    void ninetySecondsOfTheSameIsolatedNeverLoseTheWorker() throws Exception {
        Soak.Result r = new Soak(Duration.ofSeconds(90), 3, 8, IsolationSettings.PROCESS_DEFAULT).run();
        check(r);
        String report = Soak.report(r, "SoakTest (isolated)");
        assertThat(r.worker()).as(report).isNotNull();
        assertThat(r.worker().starts())
                .as("one worker from start to end: %s", report)
                .isEqualTo(1);
        assertThat(r.worker().crashes()).as(report).isZero();
        assertThat(r.cancelled()).as(report).isPositive();
    }

    private static void check(Soak.Result r) {
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
        assertThat(r.unexplainedLosses()).as(report).isZero();
    }
}
