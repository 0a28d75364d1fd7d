package org.backplane.cpu.internal;

import java.util.Locale;
import java.util.Map;
import org.backplane.api.ExecutionBackend;
import org.backplane.isolation.IsolationSettings;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.ManagedBackend;
import org.backplane.spi.backend.DelegatingExecutionBackend;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * Registers the CPU backend as an {@link ExecutionBackend} service ({@code backend.id=cpu}). It is
 * always available. A configuration change restarts the component: its streams are closed (work in
 * flight fails with {@code BACKEND_STOPPED}) and a fresh backend is registered.
 */
@Component(
        service = ExecutionBackend.class,
        configurationPid = CpuBackendComponent.PID,
        property = {ExecutionBackend.BACKEND_ID + "=" + CpuBackends.ID, "service.ranking:Integer=0"})
@Designate(ocd = CpuBackendComponent.Config.class)
public final class CpuBackendComponent extends DelegatingExecutionBackend {
    public static final String PID = "org.backplane.backend.cpu";

    /** The CPU backend's own properties, then the ones every backend shares ({@link BackendSettings}). */
    @ObjectClassDefinition(
            name = "Backplane CPU reference backend",
            description = "The default backend and the oracle other backends are checked against.")
    public @interface Config {
        @AttributeDefinition(
                name = "Threads per op",
                description = "Threads one op may use, the stream worker included; 0 = one per processor")
        int parallelism() default 0;

        @AttributeDefinition(
                name = "Kernels",
                description = "fast: blocked, multi-threaded, vectorized; scalar: the same "
                        + "without the Vector API; reference: the float64 oracle (slow)",
                options = {
                    @Option(value = "fast", label = "fast"),
                    @Option(value = "scalar", label = "scalar"),
                    @Option(value = "reference", label = "reference")
                })
        String kernels() default CpuBackends.FAST;

        @AttributeDefinition(name = "Ops per command buffer")
        int batch_maxOps() default BackendSettings.DEFAULT_BATCH_MAX_OPS;

        @AttributeDefinition(name = "Output bytes per command buffer")
        long batch_maxBytes() default BackendSettings.DEFAULT_BATCH_MAX_BYTES;

        @AttributeDefinition(name = "Command buffers in flight per stream")
        int batch_maxInFlight() default BackendSettings.DEFAULT_BATCH_MAX_IN_FLIGHT;

        @AttributeDefinition(
                name = "Reset timeout (ms)",
                description = "How long a reset waits for the failed work in flight")
        long reset_timeout_ms() default BackendSettings.DEFAULT_RESET_TIMEOUT_MS;

        @AttributeDefinition(
                name = "Close timeout (ms)",
                description = "How long closing a stream waits for its queued work")
        long close_timeout_ms() default BackendSettings.DEFAULT_CLOSE_TIMEOUT_MS;

        @AttributeDefinition(
                name = "Stop grace (ms)",
                description = "How long stopping lets running work finish before failing it")
        long stop_grace_ms() default BackendSettings.DEFAULT_STOP_GRACE_MS;

        @AttributeDefinition(name = "Fault injection", description = "For testing only: allow injected faults")
        boolean faultInjection_enabled() default false;

        @AttributeDefinition(
                name = "Memory limit (MiB)",
                description = "What this backend's arrays may hold in all; 0: 90% of the device's memory")
        long memory_limitMiB() default BackendSettings.DEFAULT_MEMORY_LIMIT_MIB;

        @AttributeDefinition(
                name = "Stream quota (MiB)",
                description = "What one stream's arrays may hold, unless opened with a quota of its own; 0: none")
        long memory_streamQuotaMiB() default BackendSettings.DEFAULT_MEMORY_STREAM_QUOTA_MIB;

        @AttributeDefinition(
                name = "Reserve per stream (MiB)",
                description = "Kept free for each open stream, so that one stream that keeps allocating cannot "
                        + "starve the others")
        long memory_reserveMiB() default BackendSettings.DEFAULT_MEMORY_RESERVE_MIB;

        @AttributeDefinition(
                name = "Memory high-water mark (%)",
                description = "The share of the limit above which the health check warns")
        int memory_highWaterPercent() default BackendSettings.DEFAULT_MEMORY_HIGH_WATER_PERCENT;

        @AttributeDefinition(
                name = "Open streams at most",
                description = "Opening one more fails with a clear error; leaked streams are found and closed")
        int streams_max() default BackendSettings.DEFAULT_STREAMS_MAX;

        @AttributeDefinition(
                name = "Fault rules",
                description = "e.g. 'stream=worker-*, op=5, kind=PAGE_FAULT' or "
                        + "'stream=*, fraction=0.01, seed=7, kind=TIMEOUT'",
                required = false)
        String[] faultInjection_rules() default {};

        @AttributeDefinition(
                name = "Isolation",
                description = "none: in this JVM; process: in a supervised worker JVM that a crash, a hang or a "
                        + "sticky device fault costs instead of the host (reset starts a fresh one)",
                options = {
                    @Option(value = IsolationSettings.NONE, label = "none"),
                    @Option(value = IsolationSettings.PROCESS, label = "process")
                })
        String isolation() default IsolationSettings.NONE;

        @AttributeDefinition(name = "Worker heartbeat (ms)", description = "How often the host asks the worker")
        long isolation_heartbeat_ms() default IsolationSettings.DEFAULT_HEARTBEAT_MS;

        @AttributeDefinition(
                name = "Worker heartbeat timeout (ms)",
                description = "A worker silent this long is hung: killed, and its streams get DEVICE_LOST")
        long isolation_heartbeatTimeout_ms() default IsolationSettings.DEFAULT_HEARTBEAT_TIMEOUT_MS;

        @AttributeDefinition(name = "Worker start timeout (ms)")
        long isolation_start_timeout_ms() default IsolationSettings.DEFAULT_START_TIMEOUT_MS;

        @AttributeDefinition(
                name = "Worker restart limit",
                description = "Lost workers replaced within the window; one more and the backend stays down")
        int isolation_restarts_max() default IsolationSettings.DEFAULT_RESTARTS_MAX;

        @AttributeDefinition(name = "Worker restart window (minutes)")
        long isolation_restarts_windowMinutes() default IsolationSettings.DEFAULT_RESTARTS_WINDOW_MINUTES;

        @AttributeDefinition(
                name = "Worker restart backoff (ms)",
                description = "The first replacement's wait; each further one within the window waits twice as long")
        long isolation_restarts_backoff_ms() default IsolationSettings.DEFAULT_RESTARTS_BACKOFF_MS;

        @AttributeDefinition(name = "Worker JVM options", description = "e.g. -Xmx8g", required = false)
        String[] isolation_jvmOptions() default {};
    }

    private volatile ManagedBackend backend;

    @Activate
    void activate(Config config, Map<String, Object> properties) {
        backend = start(config, properties);
    }

    /** The backend a configuration describes; the shared properties are read as every backend reads them. */
    static ManagedBackend start(Config config, Map<String, ?> properties) {
        // Read as IsolationSettings reads it (its constants are compiled in), without loading it: in
        // process, the isolation bundle is not needed and may be absent.
        Object isolation = properties.get(IsolationSettings.ISOLATION);
        String mode = isolation == null ? "" : isolation.toString().trim().toLowerCase(Locale.ROOT);
        if (mode.isEmpty() || mode.equals(IsolationSettings.NONE)) {
            return CpuBackends.start(
                    CpuBackends.ID,
                    config.parallelism(),
                    config.kernels(),
                    BackendSettings.fromConfiguration(properties));
        }
        try {
            return IsolatedCpuBackends.start(CpuBackends.ID, config.parallelism(), config.kernels(), properties);
        } catch (NoClassDefFoundError e) {
            throw new IllegalStateException(
                    "isolation=" + isolation + " needs the org.backplane.isolation bundle, which is not installed; "
                            + "install it, or set isolation=none",
                    e);
        }
    }

    @Deactivate
    void deactivate() {
        ManagedBackend b = backend;
        if (b != null) {
            b.stop();
        }
    }

    @Override
    protected ExecutionBackend delegate() {
        return backend;
    }
}
