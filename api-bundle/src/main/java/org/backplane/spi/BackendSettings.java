package org.backplane.spi;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.backplane.api.fault.FaultRule;

/**
 * Settings every backend shares, with the same names, meaning and defaults on every backend. A
 * backend component reads them from its configuration with {@link #fromConfiguration}; its Metatype
 * definition declares each of the properties below with these defaults (a test per backend holds
 * the two together).
 *
 * @param batching command batching and back-pressure
 * @param resetTimeout how long a reset waits for the failed generation's in-flight work
 * @param closeTimeout how long closing a stream waits for its queued work
 * @param stopGrace how long stopping the backend lets running work finish before failing it
 * @param faultInjection whether fault injection is enabled
 * @param faultRules rules in force from the start (only with {@code faultInjection})
 * @param memory the memory limit, quotas and reserve (S12)
 * @param maxStreams how many streams may be open at once; opening one more fails
 */
public record BackendSettings(
        BatchPolicy batching,
        Duration resetTimeout,
        Duration closeTimeout,
        Duration stopGrace,
        boolean faultInjection,
        List<FaultRule> faultRules,
        MemoryPolicy memory,
        int maxStreams) {

    /** Configuration property: ops per command buffer. */
    public static final String BATCH_MAX_OPS = "batch.maxOps";
    /** Configuration property: output bytes per command buffer. */
    public static final String BATCH_MAX_BYTES = "batch.maxBytes";
    /** Configuration property: command buffers in flight per stream before submitters wait. */
    public static final String BATCH_MAX_IN_FLIGHT = "batch.maxInFlight";
    /** Configuration property: how long a reset waits for the failed work in flight (ms). */
    public static final String RESET_TIMEOUT_MS = "reset.timeout.ms";
    /** Configuration property: how long closing a stream waits for its queued work (ms). */
    public static final String CLOSE_TIMEOUT_MS = "close.timeout.ms";
    /** Configuration property: how long stopping lets running work finish before failing it (ms). */
    public static final String STOP_GRACE_MS = "stop.grace.ms";
    /** Configuration property: testing only, allow injected faults. */
    public static final String FAULT_INJECTION_ENABLED = "faultInjection.enabled";
    /** Configuration property: testing only, fault rules in force from the start. */
    public static final String FAULT_INJECTION_RULES = "faultInjection.rules";
    /** Configuration property: what the backend's arrays may hold in all (MiB; 0: 90% of the device). */
    public static final String MEMORY_LIMIT_MIB = "memory.limitMiB";
    /** Configuration property: what one stream's arrays may hold (MiB; 0: no quota). */
    public static final String MEMORY_STREAM_QUOTA_MIB = "memory.streamQuotaMiB";
    /** Configuration property: memory kept free for each open stream (MiB). */
    public static final String MEMORY_RESERVE_MIB = "memory.reserveMiB";
    /** Configuration property: the share of the limit (percent) above which the health check warns. */
    public static final String MEMORY_HIGH_WATER_PERCENT = "memory.highWaterPercent";
    /** Configuration property: how many streams may be open at once. */
    public static final String STREAMS_MAX = "streams.max";

    public static final int DEFAULT_BATCH_MAX_OPS = 32;
    public static final long DEFAULT_BATCH_MAX_BYTES = 48L << 20;
    public static final int DEFAULT_BATCH_MAX_IN_FLIGHT = 8;
    public static final long DEFAULT_RESET_TIMEOUT_MS = 10_000;
    public static final long DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
    public static final long DEFAULT_STOP_GRACE_MS = 5_000;
    public static final long DEFAULT_MEMORY_LIMIT_MIB = 0;
    public static final long DEFAULT_MEMORY_STREAM_QUOTA_MIB = 0;
    public static final long DEFAULT_MEMORY_RESERVE_MIB = 32;
    public static final int DEFAULT_MEMORY_HIGH_WATER_PERCENT = 90;
    public static final int DEFAULT_STREAMS_MAX = 1024;

    /**
     * The defaults: 32 ops, 48 MiB, 8 in flight; reset 10 s, close 30 s, stop 5 s; no fault
     * injection; {@link MemoryPolicy#DEFAULT}; at most 1024 open streams.
     */
    public static final BackendSettings DEFAULT = new BackendSettings(
            BatchPolicy.DEFAULT,
            Duration.ofMillis(DEFAULT_RESET_TIMEOUT_MS),
            Duration.ofMillis(DEFAULT_CLOSE_TIMEOUT_MS),
            Duration.ofMillis(DEFAULT_STOP_GRACE_MS),
            false,
            List.of(),
            MemoryPolicy.DEFAULT,
            DEFAULT_STREAMS_MAX);

    public BackendSettings {
        Objects.requireNonNull(batching, "batching");
        Objects.requireNonNull(resetTimeout, "resetTimeout");
        Objects.requireNonNull(closeTimeout, "closeTimeout");
        Objects.requireNonNull(stopGrace, "stopGrace");
        Objects.requireNonNull(memory, "memory");
        if (maxStreams < 1) {
            throw new IllegalArgumentException(STREAMS_MAX + " must be at least 1 but was " + maxStreams);
        }
        faultRules = List.copyOf(faultRules == null ? List.of() : faultRules);
        if (!faultInjection && !faultRules.isEmpty()) {
            throw new IllegalArgumentException("fault rules are configured but fault injection is not enabled "
                    + "(set " + FAULT_INJECTION_ENABLED + "=true)");
        }
    }

    /**
     * Reads the shared properties from a backend's configuration (DS component properties or Config
     * Admin values: numbers, booleans, or their text); missing ones take the defaults.
     *
     * @throws IllegalArgumentException naming the property whose value is unusable
     */
    public static BackendSettings fromConfiguration(Map<String, ?> properties) {
        Objects.requireNonNull(properties, "properties");
        BatchPolicy batching = new BatchPolicy(
                (int) number(properties, BATCH_MAX_OPS, DEFAULT_BATCH_MAX_OPS),
                number(properties, BATCH_MAX_BYTES, DEFAULT_BATCH_MAX_BYTES),
                (int) number(properties, BATCH_MAX_IN_FLIGHT, DEFAULT_BATCH_MAX_IN_FLIGHT));
        boolean faults = bool(properties, FAULT_INJECTION_ENABLED);
        return new BackendSettings(
                batching,
                Duration.ofMillis(number(properties, RESET_TIMEOUT_MS, DEFAULT_RESET_TIMEOUT_MS)),
                Duration.ofMillis(number(properties, CLOSE_TIMEOUT_MS, DEFAULT_CLOSE_TIMEOUT_MS)),
                Duration.ofMillis(number(properties, STOP_GRACE_MS, DEFAULT_STOP_GRACE_MS)),
                faults,
                FaultRule.parseAll(strings(properties.get(FAULT_INJECTION_RULES))),
                new MemoryPolicy(
                        number(properties, MEMORY_LIMIT_MIB, DEFAULT_MEMORY_LIMIT_MIB),
                        number(properties, MEMORY_STREAM_QUOTA_MIB, DEFAULT_MEMORY_STREAM_QUOTA_MIB),
                        number(properties, MEMORY_RESERVE_MIB, DEFAULT_MEMORY_RESERVE_MIB),
                        (int) number(properties, MEMORY_HIGH_WATER_PERCENT, DEFAULT_MEMORY_HIGH_WATER_PERCENT)),
                (int) number(properties, STREAMS_MAX, DEFAULT_STREAMS_MAX));
    }

    private static long number(Map<String, ?> properties, String key, long fallback) {
        Object value = properties.get(key);
        if (value == null) {
            return fallback;
        }
        if (value instanceof Number n) {
            return n.longValue();
        }
        try {
            return Long.parseLong(value.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "configuration property " + key + " must be a whole number but was '" + value + "'");
        }
    }

    private static boolean bool(Map<String, ?> properties, String key) {
        Object value = properties.get(key);
        return value instanceof Boolean b
                ? b
                : value != null && Boolean.parseBoolean(value.toString().trim());
    }

    private static String[] strings(Object value) {
        return switch (value) {
            case null -> new String[0];
            case String[] a -> a;
            case String s -> new String[] {s};
            case Iterable<?> it -> {
                java.util.ArrayList<String> out = new java.util.ArrayList<>();
                it.forEach(o -> out.add(String.valueOf(o)));
                yield out.toArray(String[]::new);
            }
            default -> new String[] {value.toString()};
        };
    }

    public BackendSettings withBatching(BatchPolicy policy) {
        return new BackendSettings(
                policy, resetTimeout, closeTimeout, stopGrace, faultInjection, faultRules, memory, maxStreams);
    }

    /** These settings with fault injection enabled and the given initial rules. */
    public BackendSettings withFaultInjection(List<FaultRule> rules) {
        return new BackendSettings(batching, resetTimeout, closeTimeout, stopGrace, true, rules, memory, maxStreams);
    }

    public BackendSettings withTimeouts(Duration reset, Duration close, Duration stop) {
        return new BackendSettings(batching, reset, close, stop, faultInjection, faultRules, memory, maxStreams);
    }

    public BackendSettings withMemory(MemoryPolicy policy) {
        return new BackendSettings(
                batching, resetTimeout, closeTimeout, stopGrace, faultInjection, faultRules, policy, maxStreams);
    }

    public BackendSettings withMaxStreams(int max) {
        return new BackendSettings(
                batching, resetTimeout, closeTimeout, stopGrace, faultInjection, faultRules, memory, max);
    }
}
