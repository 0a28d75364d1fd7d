package org.backplane.cpu.internal;

import java.util.List;
import java.util.Map;
import org.backplane.cpu.internal.blas.OpenBlas;
import org.backplane.isolation.WorkerBackend;

/** The CPU engine in a worker process ({@code isolation=process}): the same engine as in the host. */
public final class CpuWorkerBackend implements WorkerBackend {
    static final String PARALLELISM = "parallelism";
    static final String KERNELS = "kernels";

    /** OpenBLAS for this platform, where the host has it: the worker's products run on it too. */
    @Override
    public List<String> classpathResources() {
        return OpenBlas.resources();
    }

    @Override
    public Started start(String backendId, Map<String, String> configuration) {
        CpuBackends.Parts p = CpuBackends.engine(
                Integer.parseInt(configuration.getOrDefault(PARALLELISM, "0")),
                configuration.getOrDefault(KERNELS, CpuBackends.FAST));
        return new Started(p.engine(), p.device(), p.capabilities());
    }
}
