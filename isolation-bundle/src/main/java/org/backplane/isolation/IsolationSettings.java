package org.backplane.isolation;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Whether and how a backend runs in a worker process: configuration properties every backend
 * reads with the same names, meaning and defaults (declared in each backend's Metatype).
 *
 * @param process whether the backend runs in a worker process ({@code isolation=process}) or in
 *     the host ({@code isolation=none}, the default)
 * @param heartbeat how often the host asks the worker whether it is alive
 * @param heartbeatTimeout how long a worker may leave the host without an answer before it counts as
 *     hung, is killed and lost
 * @param startTimeout how long a worker may take to start its engine
 * @param restartLimit at most this many workers lost within {@code restartWindow} are replaced; one
 *     more and the backend stays down (the backend selection falls back to the next backend)
 * @param restartWindow the window of the restart limit
 * @param restartBackoff how long the first replacement waits; each further one within the window
 *     waits twice as long as the last, at most 50 times this (0: replace at once)
 * @param jvmOptions extra options for the worker JVM (e.g. {@code -Xmx8g})
 */
public record IsolationSettings(
        boolean process,
        Duration heartbeat,
        Duration heartbeatTimeout,
        Duration startTimeout,
        int restartLimit,
        Duration restartWindow,
        Duration restartBackoff,
        List<String> jvmOptions) {

    /** Configuration property: {@code none} or {@code process}. */
    public static final String ISOLATION = "isolation";
    /** Configuration property: heartbeat interval (ms). */
    public static final String HEARTBEAT_MS = "isolation.heartbeat.ms";
    /** Configuration property: a worker silent this long is hung (ms). */
    public static final String HEARTBEAT_TIMEOUT_MS = "isolation.heartbeatTimeout.ms";
    /** Configuration property: how long a worker may take to start (ms). */
    public static final String START_TIMEOUT_MS = "isolation.start.timeout.ms";
    /** Configuration property: workers lost within the window that are still replaced. */
    public static final String RESTARTS_MAX = "isolation.restarts.max";
    /** Configuration property: the restart limit's window (minutes). */
    public static final String RESTARTS_WINDOW_MINUTES = "isolation.restarts.windowMinutes";
    /** Configuration property: the first replacement's wait (ms). */
    public static final String RESTARTS_BACKOFF_MS = "isolation.restarts.backoff.ms";
    /** Configuration property: extra worker JVM options. */
    public static final String JVM_OPTIONS = "isolation.jvmOptions";

    public static final String NONE = "none";
    public static final String PROCESS = "process";
    public static final long DEFAULT_HEARTBEAT_MS = 1_000;
    public static final long DEFAULT_HEARTBEAT_TIMEOUT_MS = 10_000;
    public static final long DEFAULT_START_TIMEOUT_MS = 60_000;
    public static final int DEFAULT_RESTARTS_MAX = 5;
    public static final long DEFAULT_RESTARTS_WINDOW_MINUTES = 10;
    public static final long DEFAULT_RESTARTS_BACKOFF_MS = 100;

    /** In the host, with the defaults. */
    public static final IsolationSettings NONE_DEFAULT = new IsolationSettings(
            false,
            Duration.ofMillis(DEFAULT_HEARTBEAT_MS),
            Duration.ofMillis(DEFAULT_HEARTBEAT_TIMEOUT_MS),
            Duration.ofMillis(DEFAULT_START_TIMEOUT_MS),
            DEFAULT_RESTARTS_MAX,
            Duration.ofMinutes(DEFAULT_RESTARTS_WINDOW_MINUTES),
            Duration.ofMillis(DEFAULT_RESTARTS_BACKOFF_MS),
            List.of());

    /** In a worker process, with the defaults. */
    public static final IsolationSettings PROCESS_DEFAULT = NONE_DEFAULT.withProcess(true);

    public IsolationSettings {
        Objects.requireNonNull(heartbeat, "heartbeat");
        Objects.requireNonNull(heartbeatTimeout, "heartbeatTimeout");
        Objects.requireNonNull(startTimeout, "startTimeout");
        Objects.requireNonNull(restartWindow, "restartWindow");
        Objects.requireNonNull(restartBackoff, "restartBackoff");
        jvmOptions = List.copyOf(jvmOptions);
        if (heartbeat.toMillis() < 10) {
            throw new IllegalArgumentException(HEARTBEAT_MS + " must be at least 10 ms, not " + heartbeat.toMillis());
        }
        if (heartbeatTimeout.compareTo(heartbeat.multipliedBy(2)) < 0) {
            throw new IllegalArgumentException(HEARTBEAT_TIMEOUT_MS + " must be at least twice " + HEARTBEAT_MS + " ("
                    + heartbeat.toMillis() + " ms), not " + heartbeatTimeout.toMillis());
        }
        if (startTimeout.toMillis() < 1_000) {
            throw new IllegalArgumentException(START_TIMEOUT_MS + " must be at least 1000 ms");
        }
        if (restartLimit < 0) {
            throw new IllegalArgumentException(RESTARTS_MAX + " must be 0 or more, not " + restartLimit);
        }
        if (restartBackoff.isNegative()) {
            throw new IllegalArgumentException(RESTARTS_BACKOFF_MS + " must be 0 or more");
        }
        if (restartWindow.toMinutes() < 1) {
            throw new IllegalArgumentException(RESTARTS_WINDOW_MINUTES + " must be at least 1");
        }
    }

    /**
     * Reads the properties above from a backend's configuration; absent ones take their defaults.
     *
     * @throws IllegalArgumentException naming a property with a value that makes no sense
     */
    public static IsolationSettings fromConfiguration(Map<String, ?> properties) {
        Object mode = properties.get(ISOLATION);
        String m = mode == null ? NONE : mode.toString().trim().toLowerCase(Locale.ROOT);
        if (!m.equals(NONE) && !m.equals(PROCESS) && !m.isEmpty()) {
            throw new IllegalArgumentException(ISOLATION + " must be 'none' or 'process', not '" + mode + "'");
        }
        return new IsolationSettings(
                m.equals(PROCESS),
                Duration.ofMillis(number(properties, HEARTBEAT_MS, DEFAULT_HEARTBEAT_MS)),
                Duration.ofMillis(number(properties, HEARTBEAT_TIMEOUT_MS, DEFAULT_HEARTBEAT_TIMEOUT_MS)),
                Duration.ofMillis(number(properties, START_TIMEOUT_MS, DEFAULT_START_TIMEOUT_MS)),
                Math.toIntExact(number(properties, RESTARTS_MAX, DEFAULT_RESTARTS_MAX)),
                Duration.ofMinutes(number(properties, RESTARTS_WINDOW_MINUTES, DEFAULT_RESTARTS_WINDOW_MINUTES)),
                Duration.ofMillis(number(properties, RESTARTS_BACKOFF_MS, DEFAULT_RESTARTS_BACKOFF_MS)),
                strings(properties.get(JVM_OPTIONS)));
    }

    private static long number(Map<String, ?> properties, String key, long fallback) {
        Object v = properties.get(key);
        if (v == null || v.toString().isBlank()) {
            return fallback;
        }
        if (v instanceof Number n) {
            return n.longValue();
        }
        try {
            return Long.parseLong(v.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a whole number, not '" + v + "'", e);
        }
    }

    private static List<String> strings(Object v) {
        List<String> out = new ArrayList<>();
        if (v instanceof String[] a) {
            out.addAll(Arrays.asList(a));
        } else if (v instanceof Iterable<?> it) {
            it.forEach(o -> out.add(String.valueOf(o)));
        } else if (v != null) {
            out.addAll(Arrays.asList(v.toString().trim().split("\\s+", -1)));
        }
        out.removeIf(String::isBlank);
        return out;
    }

    public IsolationSettings withProcess(boolean inProcess) {
        return new IsolationSettings(
                inProcess,
                heartbeat,
                heartbeatTimeout,
                startTimeout,
                restartLimit,
                restartWindow,
                restartBackoff,
                jvmOptions);
    }

    public IsolationSettings withHeartbeat(Duration interval, Duration timeout) {
        return new IsolationSettings(
                process, interval, timeout, startTimeout, restartLimit, restartWindow, restartBackoff, jvmOptions);
    }

    public IsolationSettings withRestartLimit(int limit, Duration window) {
        return new IsolationSettings(
                process, heartbeat, heartbeatTimeout, startTimeout, limit, window, restartBackoff, jvmOptions);
    }

    public IsolationSettings withRestartBackoff(Duration first) {
        return new IsolationSettings(
                process, heartbeat, heartbeatTimeout, startTimeout, restartLimit, restartWindow, first, jvmOptions);
    }

    public IsolationSettings withJvmOptions(List<String> options) {
        return new IsolationSettings(
                process,
                heartbeat,
                heartbeatTimeout,
                startTimeout,
                restartLimit,
                restartWindow,
                restartBackoff,
                options);
    }
}
