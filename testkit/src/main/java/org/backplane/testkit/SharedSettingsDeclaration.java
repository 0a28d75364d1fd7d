package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.util.LinkedHashMap;
import java.util.Map;
import org.backplane.isolation.IsolationSettings;
import org.backplane.spi.BackendSettings;

/**
 * Holds a backend component's Metatype definition to the settings every backend shares: each
 * property of {@link BackendSettings} is declared (so Karaf's {@code config:} commands and the web
 * console describe it) with the shared default. The values themselves are read once, by
 * {@link BackendSettings#fromConfiguration}.
 */
public final class SharedSettingsDeclaration {
    private SharedSettingsDeclaration() {}

    /** The shared properties and their defaults. */
    public static Map<String, Object> sharedDefaults() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put(BackendSettings.BATCH_MAX_OPS, BackendSettings.DEFAULT_BATCH_MAX_OPS);
        d.put(BackendSettings.BATCH_MAX_BYTES, BackendSettings.DEFAULT_BATCH_MAX_BYTES);
        d.put(BackendSettings.BATCH_MAX_IN_FLIGHT, BackendSettings.DEFAULT_BATCH_MAX_IN_FLIGHT);
        d.put(BackendSettings.RESET_TIMEOUT_MS, BackendSettings.DEFAULT_RESET_TIMEOUT_MS);
        d.put(BackendSettings.CLOSE_TIMEOUT_MS, BackendSettings.DEFAULT_CLOSE_TIMEOUT_MS);
        d.put(BackendSettings.STOP_GRACE_MS, BackendSettings.DEFAULT_STOP_GRACE_MS);
        d.put(BackendSettings.FAULT_INJECTION_ENABLED, false);
        d.put(BackendSettings.FAULT_INJECTION_RULES, new String[0]);
        d.put(BackendSettings.MEMORY_LIMIT_MIB, BackendSettings.DEFAULT_MEMORY_LIMIT_MIB);
        d.put(BackendSettings.MEMORY_STREAM_QUOTA_MIB, BackendSettings.DEFAULT_MEMORY_STREAM_QUOTA_MIB);
        d.put(BackendSettings.MEMORY_RESERVE_MIB, BackendSettings.DEFAULT_MEMORY_RESERVE_MIB);
        d.put(BackendSettings.MEMORY_HIGH_WATER_PERCENT, BackendSettings.DEFAULT_MEMORY_HIGH_WATER_PERCENT);
        d.put(BackendSettings.STREAMS_MAX, BackendSettings.DEFAULT_STREAMS_MAX);
        d.put(IsolationSettings.ISOLATION, IsolationSettings.NONE);
        d.put(IsolationSettings.HEARTBEAT_MS, IsolationSettings.DEFAULT_HEARTBEAT_MS);
        d.put(IsolationSettings.HEARTBEAT_TIMEOUT_MS, IsolationSettings.DEFAULT_HEARTBEAT_TIMEOUT_MS);
        d.put(IsolationSettings.START_TIMEOUT_MS, IsolationSettings.DEFAULT_START_TIMEOUT_MS);
        d.put(IsolationSettings.RESTARTS_MAX, IsolationSettings.DEFAULT_RESTARTS_MAX);
        d.put(IsolationSettings.RESTARTS_WINDOW_MINUTES, IsolationSettings.DEFAULT_RESTARTS_WINDOW_MINUTES);
        d.put(IsolationSettings.RESTARTS_BACKOFF_MS, IsolationSettings.DEFAULT_RESTARTS_BACKOFF_MS);
        d.put(IsolationSettings.JVM_OPTIONS, new String[0]);
        return d;
    }

    /** Asserts that {@code config} (a DS component property type) declares every shared property with its default. */
    public static void assertDeclaredBy(Class<? extends Annotation> config) {
        Map<String, Object> declared = new LinkedHashMap<>();
        for (Method m : config.getDeclaredMethods()) {
            declared.put(m.getName().replace('_', '.'), m.getDefaultValue());
        }
        sharedDefaults()
                .forEach((property, fallback) -> assertThat(declared)
                        .as("%s declares %s with the shared default", config.getName(), property)
                        .containsKey(property)
                        .satisfies(d -> assertThat(d.get(property)).as(property).isEqualTo(fallback)));
    }
}
