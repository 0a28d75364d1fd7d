package org.backplane.cuda.isolated;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.backplane.api.ExecutionBackend;
import org.backplane.cuda.CudaBackend;
import org.backplane.cuda.CudaSettings;
import org.backplane.isolation.IsolationSettings;
import org.backplane.spi.BackendSettings;
import org.backplane.testkit.BackendFixture;

/**
 * Runs the contract test kit against the CUDA backend in a supervised worker process; skipped, with
 * the reason, where no GPU is. Unlike in-process CUDA it recovers from device loss: a reset starts a
 * fresh worker.
 */
final class IsolatedCudaFixture implements BackendFixture {
    static final IsolatedCudaFixture INSTANCE = new IsolatedCudaFixture();

    @Override
    public String name() {
        return "cuda (isolated in a worker process)";
    }

    @Override
    public ExecutionBackend start(BackendSettings settings) {
        assumeTrue(CudaBackend.isAvailable(), CudaBackend::availability);
        return CudaBackend.start(CudaSettings.defaults().withCommon(settings), IsolationSettings.PROCESS_DEFAULT);
    }

    @Override
    public void stop(ExecutionBackend backend) {
        ((CudaBackend) backend).close();
    }

    @Override
    public List<String> threadNamePrefixes() {
        return List.of("backplane-cuda-");
    }

    /** 40% of the device's memory per array: two fit, the third cannot. */
    @Override
    public long outOfMemoryElements() {
        try (CudaBackend probe = CudaBackend.start(CudaSettings.defaults())) {
            return (long) (probe.device().memoryBytes() * 0.4) / Float.BYTES;
        }
    }

    @Override
    public boolean recoversFromDeviceLoss() {
        return true;
    }
}
