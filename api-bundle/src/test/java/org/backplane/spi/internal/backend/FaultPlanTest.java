package org.backplane.spi.internal.backend;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class FaultPlanTest {
    @Test
    void fractionPicksDependOnlyOnSeedLabelAndOpAndMatchTheFraction() {
        int picked = 0;
        for (long op = 1; op <= 100_000; op++) {
            double p = FaultPlan.pick(42, "worker-1", op);
            assertThat(p).isEqualTo(FaultPlan.pick(42, "worker-1", op)).isBetween(0.0, 1.0);
            if (p < 0.1) {
                picked++;
            }
        }
        assertThat(picked).isBetween(9_500, 10_500);
        assertThat(FaultPlan.pick(42, "worker-1", 7)).isNotEqualTo(FaultPlan.pick(43, "worker-1", 7));
        assertThat(FaultPlan.pick(42, "worker-1", 7)).isNotEqualTo(FaultPlan.pick(42, "worker-2", 7));
    }
}
