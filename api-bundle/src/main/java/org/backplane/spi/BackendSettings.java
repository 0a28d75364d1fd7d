package org.backplane.spi;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.backplane.api.fault.FaultRule;

/**
 * Settings every backend shares, usually read from its configuration.
 *
 * @param batching command batching and back-pressure
 * @param resetTimeout how long a reset waits for the failed generation's in-flight work
 * @param closeTimeout how long closing a stream waits for its queued work
 * @param stopGrace how long stopping the backend lets running work finish before failing it
 * @param faultInjection whether fault injection is enabled
 * @param faultRules rules in force from the start (only with {@code faultInjection})
 */
public record BackendSettings(BatchPolicy batching, Duration resetTimeout, Duration closeTimeout, Duration stopGrace,
        boolean faultInjection, List<FaultRule> faultRules) {

    public static final BackendSettings DEFAULT = new BackendSettings(BatchPolicy.DEFAULT, Duration.ofSeconds(10),
            Duration.ofSeconds(30), Duration.ofSeconds(5), false, List.of());

    public BackendSettings {
        Objects.requireNonNull(batching, "batching");
        Objects.requireNonNull(resetTimeout, "resetTimeout");
        Objects.requireNonNull(closeTimeout, "closeTimeout");
        Objects.requireNonNull(stopGrace, "stopGrace");
        faultRules = List.copyOf(faultRules == null ? List.of() : faultRules);
        if (!faultInjection && !faultRules.isEmpty()) {
            throw new IllegalArgumentException("fault rules are configured but fault injection is not enabled "
                    + "(set faultInjection.enabled=true)");
        }
    }

    public BackendSettings withBatching(BatchPolicy policy) {
        return new BackendSettings(policy, resetTimeout, closeTimeout, stopGrace, faultInjection, faultRules);
    }

    /** These settings with fault injection enabled and the given initial rules. */
    public BackendSettings withFaultInjection(List<FaultRule> rules) {
        return new BackendSettings(batching, resetTimeout, closeTimeout, stopGrace, true, rules);
    }

    public BackendSettings withTimeouts(Duration reset, Duration close, Duration stop) {
        return new BackendSettings(batching, reset, close, stop, faultInjection, faultRules);
    }
}
