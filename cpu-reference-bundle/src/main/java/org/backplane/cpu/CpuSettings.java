package org.backplane.cpu;

import java.util.Objects;
import org.backplane.cpu.internal.CpuBackends;
import org.backplane.spi.BackendSettings;

/**
 * How a CPU backend runs.
 *
 * @param id the backend's {@code backend.id}: {@code cpu} for the default instance; another id lets a
 *     second CPU instance run beside it (for tests and comparisons)
 * @param parallelism threads one op may use, the stream's worker included; 0 means one per processor
 * @param kernels {@code "fast"} (cache-blocked, multi-threaded, vectorized with the Vector API where
 *     the runtime has it), {@code "scalar"} (the same kernels on portable scalar loops) or
 *     {@code "reference"} (the float64 oracle, slow)
 * @param common batching, timeouts and fault injection, shared with every backend
 */
public record CpuSettings(String id, int parallelism, String kernels, BackendSettings common) {
    public static final String FAST = CpuBackends.FAST;
    public static final String SCALAR = CpuBackends.SCALAR;
    public static final String REFERENCE = CpuBackends.REFERENCE;

    public CpuSettings {
        Objects.requireNonNull(id, "id");
        CpuBackends.threads(parallelism);
        kernels = CpuBackends.kernelPath(Objects.requireNonNull(kernels, "kernels"));
        Objects.requireNonNull(common, "common");
    }

    /** Fast kernels on every processor, default batching, no fault injection. */
    public static CpuSettings defaults() {
        return new CpuSettings(CpuBackend.ID, 0, FAST, BackendSettings.DEFAULT);
    }

    public CpuSettings withId(String backendId) {
        return new CpuSettings(backendId, parallelism, kernels, common);
    }

    public CpuSettings withParallelism(int threads) {
        return new CpuSettings(id, threads, kernels, common);
    }

    public CpuSettings withKernels(String path) {
        return new CpuSettings(id, parallelism, path, common);
    }

    public CpuSettings withCommon(BackendSettings settings) {
        return new CpuSettings(id, parallelism, kernels, settings);
    }

    /** The effective thread count. */
    public int threads() {
        return CpuBackends.threads(parallelism);
    }
}
