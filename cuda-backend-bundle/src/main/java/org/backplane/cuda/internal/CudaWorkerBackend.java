package org.backplane.cuda.internal;

import java.util.Map;
import org.backplane.isolation.WorkerBackend;

/**
 * The CUDA engine in a worker process ({@code isolation=process}): the same engine as in the host,
 * so a sticky error there costs the worker, not the host.
 */
public final class CudaWorkerBackend implements WorkerBackend {
    static final String DEVICE = "device";
    static final String TF32 = "tf32";
    static final String REAL_FAULTS = "faultInjection.realFaults";
    static final String CUBLAS = "cublasLibrary";

    @Override
    public Started start(String backendId, Map<String, String> configuration) {
        return CudaBackends.engine(
                Integer.parseInt(configuration.getOrDefault(DEVICE, "0")),
                Boolean.parseBoolean(configuration.get(TF32)),
                Boolean.parseBoolean(configuration.get(REAL_FAULTS)),
                configuration.getOrDefault(CUBLAS, ""));
    }
}
