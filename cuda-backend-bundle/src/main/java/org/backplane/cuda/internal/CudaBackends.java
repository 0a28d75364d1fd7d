package org.backplane.cuda.internal;

import java.util.EnumSet;
import java.util.Map;
import org.backplane.api.Capabilities;
import org.backplane.api.DType;
import org.backplane.api.DeviceInfo;
import org.backplane.api.Shape;
import org.backplane.isolation.IsolatedBackends;
import org.backplane.isolation.IsolationSettings;
import org.backplane.isolation.WorkerBackend;
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
        return start(ordinal, tf32, realFaults, cublasLibrary, common, IsolationSettings.NONE_DEFAULT);
    }

    /**
     * Starts a CUDA backend in this process or, with {@code isolation=process}, in a supervised worker
     * process, where a sticky error (illegal address 700, launch failure 719) costs the worker and a
     * reset continues on a fresh one; the host never restarts.
     */
    public static ManagedBackend start(
            int ordinal,
            boolean tf32,
            boolean realFaults,
            String cublasLibrary,
            BackendSettings common,
            IsolationSettings isolation) {
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
        String cublas = cublasLibrary == null ? "" : cublasLibrary;
        if (isolation.process()) {
            return IsolatedBackends.start(
                    ID,
                    CudaWorkerBackend.class,
                    Map.of(
                            CudaWorkerBackend.DEVICE, String.valueOf(ordinal),
                            CudaWorkerBackend.TF32, String.valueOf(tf32),
                            CudaWorkerBackend.REAL_FAULTS, String.valueOf(realFaults),
                            CudaWorkerBackend.CUBLAS, cublas),
                    common,
                    isolation);
        }
        WorkerBackend.Started s = engine(ordinal, tf32, realFaults, cublas);
        return Backends.start(ID, s.device(), s.capabilities(), s.engine(), common);
    }

    /** The engine on device {@code ordinal}, with what it runs on; in the host or in a worker process. */
    static WorkerBackend.Started engine(int ordinal, boolean tf32, boolean realFaults, String cublasLibrary) {
        CudaBackendEngine engine = new CudaBackendEngine(ordinal, tf32, realFaults, cublasLibrary);
        Capabilities caps =
                new Capabilities(EnumSet.allOf(DType.class), engine.totalMemory(), Shape.MAX_RANK, false, "cuda");
        DeviceInfo device = new DeviceInfo(
                engine.name(), "NVIDIA", engine.totalMemory(), engine.multiprocessors(), engine.details());
        return new WorkerBackend.Started(engine, device, caps);
    }
}
