package org.backplane.cuda.internal;

import java.util.Hashtable;
import org.backplane.api.BackendAvailability;
import org.backplane.api.ExecutionBackend;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.condition.Condition;

/**
 * Gates the CUDA backend (OSGi Condition service): where the NVIDIA driver loads and a device
 * exists, registers the condition {@code backplane.cuda} that {@link CudaBackendComponent} waits
 * for; elsewhere logs why and leaves the backend inactive. Either way it registers a
 * {@link BackendAvailability} that says so, which {@code backplane:backend} shows.
 */
@Component(
        immediate = true,
        service = {})
public final class CudaProbeComponent {
    public static final String CONDITION = "backplane.cuda";
    private static final System.Logger LOG = System.getLogger(CudaProbeComponent.class.getName());

    private ServiceRegistration<?> condition;
    private ServiceRegistration<?> availability;

    @Activate
    void activate(BundleContext context) {
        CudaAvailability probe = CudaAvailability.probe();
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(ExecutionBackend.BACKEND_ID, CudaBackends.ID);
        availability = context.registerService(
                BackendAvailability.class,
                BackendAvailability.of(CudaBackends.ID, probe.available(), probe.reason()),
                props);
        if (probe.available()) {
            Hashtable<String, Object> c = new Hashtable<>();
            c.put(Condition.CONDITION_ID, CONDITION);
            condition = context.registerService(Condition.class, Condition.INSTANCE, c);
            LOG.log(System.Logger.Level.INFO, () -> "Backplane CUDA backend available: " + probe.reason());
        } else {
            LOG.log(System.Logger.Level.INFO, () -> "Backplane CUDA backend inactive: " + probe.reason());
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
