package org.backplane.metal.internal;

import java.util.Map;
import org.backplane.isolation.WorkerBackend;

/** The Metal engine in a worker process ({@code isolation=process}): the same engine as in the host. */
public final class MetalWorkerBackend implements WorkerBackend {
    static final String LIBRARY = "library";

    @Override
    public Started start(String backendId, Map<String, String> configuration) {
        return MetalBackends.engine(configuration.getOrDefault(LIBRARY, ""));
    }
}
