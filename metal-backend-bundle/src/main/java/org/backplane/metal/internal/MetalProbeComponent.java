package org.backplane.metal.internal;

import java.util.Hashtable;
import java.util.Map;
import org.backplane.api.BackendAvailability;
import org.backplane.api.ExecutionBackend;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.condition.Condition;

/**
 * Gates the Metal backend (OSGi Condition service): where Metal loads and a device exists,
 * registers the condition {@code backplane.metal} that {@link MetalBackendComponent} waits for;
 * elsewhere logs why and leaves the backend inactive. Either way it registers a
 * {@link BackendAvailability} that says so, which {@code backplane:backend} shows. It reads the
 * same configuration as the backend (its {@code library}), so changing that probes again.
 */
@Component(
        immediate = true,
        service = {},
        configurationPid = MetalBackendComponent.PID)
public final class MetalProbeComponent {
    public static final String CONDITION = "backplane.metal";
    private static final System.Logger LOG = System.getLogger(MetalProbeComponent.class.getName());

    private ServiceRegistration<?> condition;
    private ServiceRegistration<?> availability;

    @Activate
    void activate(BundleContext context, Map<String, Object> config) {
        MetalAvailability probe =
                MetalAvailability.probe(MetalBackendComponent.library(context, config.get("library")));
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(ExecutionBackend.BACKEND_ID, MetalBackends.ID);
        availability = context.registerService(
                BackendAvailability.class,
                BackendAvailability.of(MetalBackends.ID, probe.available(), probe.reason()),
                props);
        if (probe.available()) {
            Hashtable<String, Object> c = new Hashtable<>();
            c.put(Condition.CONDITION_ID, CONDITION);
            condition = context.registerService(Condition.class, Condition.INSTANCE, c);
            LOG.log(System.Logger.Level.INFO, () -> "Backplane Metal backend available: " + probe.reason());
        } else {
            LOG.log(System.Logger.Level.INFO, () -> "Backplane Metal backend inactive: " + probe.reason());
        }
    }

    @Deactivate
    void deactivate() {
        if (condition != null) {
            condition.unregister();
        }
        availability.unregister();
    }
}
