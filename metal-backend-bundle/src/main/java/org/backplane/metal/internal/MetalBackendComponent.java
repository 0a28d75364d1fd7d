package org.backplane.metal.internal;

import java.time.Duration;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.fault.FaultRule;
import org.backplane.metal.MetalBackend;
import org.backplane.metal.MetalSettings;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.BatchPolicy;
import org.backplane.spi.DelegatingExecutionBackend;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.propertytypes.SatisfyingConditionTarget;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Registers the Metal backend ({@code backend.id=metal}) once {@link MetalProbeComponent} has found
 * Metal and a device. A configuration change restarts it, closing its streams.
 */
@Component(service = ExecutionBackend.class, configurationPid = MetalBackendComponent.PID,
        property = ExecutionBackend.BACKEND_ID + "=" + MetalBackend.ID)
@SatisfyingConditionTarget("(" + org.osgi.service.condition.Condition.CONDITION_ID + "=" + MetalProbeComponent.CONDITION + ")")
@Designate(ocd = MetalBackendComponent.Config.class)
public final class MetalBackendComponent extends DelegatingExecutionBackend {
    public static final String PID = "org.backplane.backend.metal";

    @ObjectClassDefinition(name = "Backplane Metal backend", description = "Apple GPUs through Metal.")
    public @interface Config {
        @AttributeDefinition(name = "Metal library", description = "Path of the Metal library; empty for Metal.framework. "
                + "On Linux only the Metal simulator, for testing", required = false)
        String library() default "";

        @AttributeDefinition(name = "Ops per command buffer")
        int batch_maxOps() default 32;

        @AttributeDefinition(name = "Output bytes per command buffer")
        long batch_maxBytes() default 48L << 20;

        @AttributeDefinition(name = "Command buffers in flight per stream")
        int batch_maxInFlight() default 8;

        @AttributeDefinition(name = "Fault injection", description = "For testing only")
        boolean faultInjection_enabled() default false;

        @AttributeDefinition(name = "Fault rules", required = false)
        String[] faultInjection_rules() default {};
    }

    private volatile MetalBackend backend;

    /** The configured library, else the framework (or system) property {@value MetalPlatform#LIBRARY_PROPERTY}. */
    static String library(BundleContext context, Object configured) {
        String value = configured == null ? "" : configured.toString().trim();
        if (value.isEmpty()) {
            String property = context.getProperty(MetalPlatform.LIBRARY_PROPERTY);
            value = property == null ? "" : property.trim();
        }
        return value;
    }

    @Activate
    void activate(BundleContext context, Config config) {
        BackendSettings common = new BackendSettings(
                new BatchPolicy(config.batch_maxOps(), config.batch_maxBytes(), config.batch_maxInFlight()),
                Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(5), config.faultInjection_enabled(),
                FaultRule.parseAll(config.faultInjection_rules()));
        backend = MetalBackend.start(new MetalSettings(library(context, config.library()), common));
    }

    @Deactivate
    void deactivate() {
        MetalBackend b = backend;
        if (b != null) {
            b.close();
        }
    }

    @Override
    protected ExecutionBackend delegate() {
        return backend;
    }
}
