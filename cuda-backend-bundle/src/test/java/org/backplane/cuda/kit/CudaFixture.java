package org.backplane.cuda.kit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.backplane.api.ExecutionBackend;
import org.backplane.cuda.CudaBackend;
import org.backplane.cuda.CudaSettings;
import org.backplane.spi.BackendSettings;
import org.backplane.testkit.BackendFixture;

/** Runs the contract test kit against the CUDA backend; skipped, with the reason, where no GPU is. */
final class CudaFixture implements BackendFixture {
    static final CudaFixture INSTANCE = new CudaFixture();

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public ExecutionBackend start(BackendSettings settings) {
        assumeTrue(CudaBackend.isAvailable(), CudaBackend::availability);
        return CudaBackend.start(CudaSettings.defaults().withCommon(settings));
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
        return false;
    }
}
