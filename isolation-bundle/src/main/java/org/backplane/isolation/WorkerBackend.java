package org.backplane.isolation;

import java.util.List;
import java.util.Map;
import org.backplane.api.Capabilities;
import org.backplane.api.DeviceInfo;
import org.backplane.spi.BackendEngine;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * How a backend starts its engine inside a worker process. Implementations are public classes with
 * a public no-argument constructor; the worker finds them by name on a class path made of the
 * backend's own jar (or bundle), the SPI and this bundle, so they must need nothing else.
 */
@ConsumerType
public interface WorkerBackend {
    /** What the worker started: the real engine and what it runs on. */
    record Started(BackendEngine engine, DeviceInfo device, Capabilities capabilities) {}

    /**
     * Starts the backend's engine (in the worker).
     *
     * @param backendId the backend's id
     * @param configuration the backend's own configuration properties, as strings
     * @throws RuntimeException whose message says why the engine cannot start
     */
    Started start(String backendId, Map<String, String> configuration);

    /**
     * Options the worker JVM needs beyond {@code --enable-native-access=ALL-UNNAMED} (asked in the
     * host), e.g. {@code --add-modules=jdk.incubator.vector}.
     */
    default List<String> jvmOptions() {
        return List.of();
    }

    /**
     * Resources the worker needs beyond the backend's own jar (asked in the host), named as for
     * {@link ClassLoader#getResource} and found through the backend class's loader — e.g. a native
     * library in a jar of its own, or in a fragment of the backend's bundle. The jar each comes from
     * joins the worker's class path; a resource the host does not have is left out.
     */
    default List<String> classpathResources() {
        return List.of();
    }
}
