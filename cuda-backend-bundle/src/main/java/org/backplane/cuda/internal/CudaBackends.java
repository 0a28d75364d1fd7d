package org.backplane.cuda.internal;

import java.util.EnumSet;
import org.backplane.api.Capabilities;
import org.backplane.api.DType;
import org.backplane.api.DeviceInfo;
import org.backplane.api.Shape;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.ManagedBackend;
import org.backplane.spi.backend.Backends;

/** Starts CUDA backends, for the OSGi component and for {@code CudaBackend.start} alike. */
public final class CudaBackends {
    /** The {@code backend.id}. */
    public static final String ID = "cuda";

    private CudaBackends() {}

    /**
     * Starts a CUDA backend on device {@code ordinal}.
     *
     * @param realFaults realise injected {@code PAGE_FAULT}s as real illegal-address kernels (tests only)
     * @param cublasLibrary path or name of libcublas; empty to search the usual places
     * @throws IllegalStateException if this machine cannot run it, saying why
     * @throws IllegalArgumentException for settings that contradict each other
     */
    public static ManagedBackend start(
            int ordinal, boolean tf32, boolean realFaults, String cublasLibrary, BackendSettings common) {
        if (ordinal < 0) {
            throw new IllegalArgumentException("device ordinal must not be negative: " + ordinal);
        }
        if (realFaults && !common.faultInjection()) {
            throw new IllegalArgumentException(
                    "realFaults needs fault injection enabled (faultInjection.enabled=true)");
        }
        CudaAvailability availability = CudaAvailability.probe();
        if (!availability.available()) {
            throw new IllegalStateException("the CUDA backend cannot run here: " + availability.reason());
        }
        CudaBackendEngine engine =
                new CudaBackendEngine(ordinal, tf32, realFaults, cublasLibrary == null ? "" : cublasLibrary);
        Capabilities caps =
                new Capabilities(EnumSet.allOf(DType.class), engine.totalMemory(), Shape.MAX_RANK, false, "cuda");
        DeviceInfo device = new DeviceInfo(
                engine.name(), "NVIDIA", engine.totalMemory(), engine.multiprocessors(), engine.details());
        return Backends.start(ID, device, caps, engine, common);
    }
}
