package org.backplane.cuda;

import java.util.Objects;
import org.backplane.spi.BackendSettings;

/**
 * How a CUDA backend runs.
 *
 * @param device the CUDA device ordinal
 * @param tf32 let cuBLAS use TF32 tensor cores for float32 matrix products (faster, about 1e-3
 *     relative error); off by default
 * @param realFaults with fault injection enabled, realise injected {@code PAGE_FAULT}s as real
 *     illegal-address kernels (CUDA error 700), which end CUDA for the whole process; for tests only
 * @param cublasLibrary path or name of libcublas; empty to search the usual places
 * @param common batching, timeouts and fault injection, shared with every backend
 */
public record CudaSettings(int device, boolean tf32, boolean realFaults, String cublasLibrary, BackendSettings common) {
    public CudaSettings {
        if (device < 0) {
            throw new IllegalArgumentException("device ordinal must not be negative: " + device);
        }
        cublasLibrary = cublasLibrary == null ? "" : cublasLibrary;
        Objects.requireNonNull(common, "common");
        if (realFaults && !common.faultInjection()) {
            throw new IllegalArgumentException(
                    "realFaults needs fault injection enabled (faultInjection.enabled=true)");
        }
    }

    /** Device 0, float32 matrix products, no fault injection. */
    public static CudaSettings defaults() {
        return new CudaSettings(0, false, false, "", BackendSettings.DEFAULT);
    }

    public CudaSettings withCommon(BackendSettings settings) {
        return new CudaSettings(device, tf32, realFaults, cublasLibrary, settings);
    }

    public CudaSettings withRealFaults(boolean real) {
        return new CudaSettings(device, tf32, real, cublasLibrary, common);
    }

    public CudaSettings withCublasLibrary(String library) {
        return new CudaSettings(device, tf32, realFaults, library, common);
    }

    public CudaSettings withTf32(boolean on) {
        return new CudaSettings(device, on, realFaults, cublasLibrary, common);
    }
}
