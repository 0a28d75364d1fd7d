package org.backplane.cpu.internal;

import java.time.Duration;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.fault.FaultRule;
import org.backplane.cpu.CpuBackend;
import org.backplane.cpu.CpuSettings;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.BatchPolicy;
import org.backplane.spi.DelegatingExecutionBackend;
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
@Component(service = ExecutionBackend.class, configurationPid = CpuBackendComponent.PID,
        property = {ExecutionBackend.BACKEND_ID + "=" + CpuBackend.ID, "service.ranking:Integer=0"})
@Designate(ocd = CpuBackendComponent.Config.class)
public final class CpuBackendComponent extends DelegatingExecutionBackend {
    public static final String PID = "org.backplane.backend.cpu";

    @ObjectClassDefinition(name = "Backplane CPU reference backend",
            description = "The default backend and the oracle other backends are checked against.")
    public @interface Config {
        @AttributeDefinition(name = "Threads per op", description = "Threads one op may use, the stream worker included; 0 = one per processor")
        int parallelism() default 0;

        @AttributeDefinition(name = "Kernels", description = "fast: blocked, multi-threaded, vectorized; scalar: the same "
                + "without the Vector API; reference: the float64 oracle (slow)",
                options = {@Option(value = "fast", label = "fast"), @Option(value = "scalar", label = "scalar"),
                    @Option(value = "reference", label = "reference")})
        String kernels() default "fast";

        @AttributeDefinition(name = "Ops per command buffer")
        int batch_maxOps() default 32;

        @AttributeDefinition(name = "Output bytes per command buffer")
        long batch_maxBytes() default 48L << 20;

        @AttributeDefinition(name = "Command buffers in flight per stream")
        int batch_maxInFlight() default 8;

        @AttributeDefinition(name = "Reset timeout (ms)", description = "How long a reset waits for the failed work in flight")
        long reset_timeout_ms() default 10_000;

        @AttributeDefinition(name = "Close timeout (ms)", description = "How long closing a stream waits for its queued work")
        long close_timeout_ms() default 30_000;

        @AttributeDefinition(name = "Stop grace (ms)", description = "How long stopping lets running work finish before failing it")
        long stop_grace_ms() default 5_000;

        @AttributeDefinition(name = "Fault injection", description = "For testing only: allow injected faults")
        boolean faultInjection_enabled() default false;

        @AttributeDefinition(name = "Fault rules", description = "e.g. 'stream=worker-*, op=5, kind=PAGE_FAULT' or "
                + "'stream=*, fraction=0.01, seed=7, kind=TIMEOUT'", required = false)
        String[] faultInjection_rules() default {};
    }

    private volatile CpuBackend backend;

    @Activate
    void activate(Config config) {
        backend = CpuBackend.start(settings(config));
    }

    @Deactivate
    void deactivate() {
        CpuBackend b = backend;
        if (b != null) {
            b.close();
        }
    }

    @Override
    protected ExecutionBackend delegate() {
        return backend;
    }

    static CpuSettings settings(Config config) {
        BackendSettings common = new BackendSettings(
                new BatchPolicy(config.batch_maxOps(), config.batch_maxBytes(), config.batch_maxInFlight()),
                Duration.ofMillis(config.reset_timeout_ms()), Duration.ofMillis(config.close_timeout_ms()),
                Duration.ofMillis(config.stop_grace_ms()), config.faultInjection_enabled(),
                FaultRule.parseAll(config.faultInjection_rules()));
        return new CpuSettings(CpuBackend.ID, config.parallelism(), config.kernels(), common);
    }
}
