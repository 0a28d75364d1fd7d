package org.backplane.cuda.internal;

import java.time.Duration;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.fault.FaultRule;
import org.backplane.cuda.CudaBackend;
import org.backplane.cuda.CudaSettings;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.BatchPolicy;
import org.backplane.spi.DelegatingExecutionBackend;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.propertytypes.SatisfyingConditionTarget;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Registers the CUDA backend ({@code backend.id=cuda}) once {@link CudaProbeComponent} has found a
 * driver and a device. A configuration change restarts it, closing its streams.
 */
@Component(service = ExecutionBackend.class, configurationPid = CudaBackendComponent.PID,
        property = ExecutionBackend.BACKEND_ID + "=" + CudaBackend.ID)
@SatisfyingConditionTarget("(" + org.osgi.service.condition.Condition.CONDITION_ID + "=" + CudaProbeComponent.CONDITION + ")")
@Designate(ocd = CudaBackendComponent.Config.class)
public final class CudaBackendComponent extends DelegatingExecutionBackend {
    public static final String PID = "org.backplane.backend.cuda";

    @ObjectClassDefinition(name = "Backplane CUDA backend", description = "NVIDIA GPUs through the CUDA driver API and cuBLAS.")
    public @interface Config {
        @AttributeDefinition(name = "Device", description = "CUDA device ordinal")
        int device() default 0;

        @AttributeDefinition(name = "TF32", description = "Let cuBLAS use TF32 tensor cores for float32 matrix products")
        boolean tf32() default false;

        @AttributeDefinition(name = "cuBLAS library", description = "Path or name of libcublas; empty searches the usual places",
                required = false)
        String cublasLibrary() default "";

        @AttributeDefinition(name = "Ops per command buffer")
        int batch_maxOps() default 32;

        @AttributeDefinition(name = "Output bytes per command buffer")
        long batch_maxBytes() default 48L << 20;

        @AttributeDefinition(name = "Command buffers in flight per stream")
        int batch_maxInFlight() default 8;

        @AttributeDefinition(name = "Fault injection", description = "For testing only")
        boolean faultInjection_enabled() default false;

        @AttributeDefinition(name = "Real faults", description = "For testing only: injected PAGE_FAULTs run a real illegal-address "
                + "kernel, which ends CUDA for the whole process")
        boolean faultInjection_realFaults() default false;

        @AttributeDefinition(name = "Fault rules", required = false)
        String[] faultInjection_rules() default {};
    }

    private volatile CudaBackend backend;

    @Activate
    void activate(Config config) {
        BackendSettings common = new BackendSettings(
                new BatchPolicy(config.batch_maxOps(), config.batch_maxBytes(), config.batch_maxInFlight()),
                Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(5), config.faultInjection_enabled(),
                FaultRule.parseAll(config.faultInjection_rules()));
        backend = CudaBackend.start(new CudaSettings(config.device(), config.tf32(), config.faultInjection_realFaults(),
                config.cublasLibrary(), common));
    }

    @Deactivate
    void deactivate() {
        CudaBackend b = backend;
        if (b != null) {
            b.close();
        }
    }

    @Override
    protected ExecutionBackend delegate() {
        return backend;
    }
}
