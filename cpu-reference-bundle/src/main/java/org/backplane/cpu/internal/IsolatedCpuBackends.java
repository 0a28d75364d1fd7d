package org.backplane.cpu.internal;

import java.util.Map;
import org.backplane.isolation.IsolatedBackends;
import org.backplane.isolation.IsolationSettings;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.ManagedBackend;

/**
 * Starts the CPU backend as its {@link IsolationSettings} say, in this process or in a worker
 * process: the only class of the CPU bundle that uses the isolation bundle (an optional import),
 * loaded only when a host passes isolation settings or configures {@code isolation} other than
 * {@code none}, so the backend runs in process where the isolation bundle is absent.
 */
public final class IsolatedCpuBackends {
    private IsolatedCpuBackends() {}

    /**
     * Starts a CPU backend in this process or, with {@code isolation=process}, in a supervised worker
     * process (the same engine, run by {@link CpuWorkerBackend} there).
     */
    public static ManagedBackend start(
            String id, int parallelism, String kernels, BackendSettings common, IsolationSettings isolation) {
        if (!isolation.process()) {
            return CpuBackends.start(id, parallelism, kernels, common);
        }
        CpuBackends.threads(parallelism);
        CpuBackends.kernelPath(kernels);
        return IsolatedBackends.start(
                id,
                CpuWorkerBackend.class,
                Map.of(CpuWorkerBackend.PARALLELISM, String.valueOf(parallelism), CpuWorkerBackend.KERNELS, kernels),
                common,
                isolation);
    }

    /** As configured ({@code isolation} and its settings among the component's properties). */
    static ManagedBackend start(String id, int parallelism, String kernels, Map<String, ?> properties) {
        return start(
                id,
                parallelism,
                kernels,
                BackendSettings.fromConfiguration(properties),
                IsolationSettings.fromConfiguration(properties));
    }
}
