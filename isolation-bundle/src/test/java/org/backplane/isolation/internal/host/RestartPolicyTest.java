package org.backplane.isolation.internal.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RestartPolicyTest {
    private static final Instant T0 = Instant.parse("2026-11-30T12:00:00Z");

    @Test
    void onePastTheLimitWithinTheWindowIsDownForGood() {
        RestartPolicy p = new RestartPolicy(2, Duration.ofMinutes(10), Duration.ofMillis(100));
        assertThat(p.lost("first", T0)).isFalse();
        assertThat(p.lost("second", T0.plusSeconds(60))).isFalse();
        assertThat(p.isDown()).isFalse();
        assertThat(p.lost("third", T0.plusSeconds(120))).isTrue();
        assertThat(p.isDown()).isTrue();
        assertThat(p.downReason()).contains("3 times within 10 minutes", "restart limit (2)", "third");
        assertThat(p.lost("fourth", T0.plusSeconds(3600))).as("it is said once").isFalse();
        assertThat(p.isDown()).as("and stays").isTrue();
    }

    @Test
    void lossesOutsideTheWindowNoLongerCount() {
        RestartPolicy p = new RestartPolicy(2, Duration.ofMinutes(10), Duration.ofMillis(100));
        p.lost("a", T0);
        p.lost("b", T0.plusSeconds(60));
        assertThat(p.lost("c", T0.plus(Duration.ofMinutes(11)))).isFalse();
        assertThat(p.isDown()).isFalse();
        assertThat(p.losses()).isEqualTo(3);
    }

    @Test
    void eachReplacementWithinTheWindowWaitsTwiceAsLongUpToFiftyTimesTheFirst() {
        RestartPolicy p = new RestartPolicy(100, Duration.ofMinutes(10), Duration.ofMillis(100));
        assertThat(p.backoff(T0)).isZero();
        p.lost("a", T0);
        assertThat(p.backoff(T0)).isEqualTo(Duration.ofMillis(100));
        p.lost("b", T0);
        assertThat(p.backoff(T0)).isEqualTo(Duration.ofMillis(200));
        for (int i = 0; i < 20; i++) {
            p.lost("more", T0);
        }
        assertThat(p.backoff(T0)).isEqualTo(Duration.ofSeconds(5));
        assertThat(p.backoff(T0.plus(Duration.ofMinutes(11)))).isZero();
    }
}
