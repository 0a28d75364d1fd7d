package org.backplane.testkit.cpu;

import java.util.List;
import org.backplane.api.ExecutionBackend;
import org.backplane.cpu.CpuBackend;
import org.backplane.cpu.CpuSettings;
import org.backplane.spi.BackendSettings;
import org.backplane.testkit.BackendFixture;

/** Runs the contract test kit against the CPU backend with one of its kernel paths. */
final class CpuFixture implements BackendFixture {
    /** The default: fast kernels on the Vector API. */
    static final CpuFixture FAST = new CpuFixture(CpuSettings.FAST);
    /** The fast kernels' portable path, which runs where the Vector API is missing. */
    static final CpuFixture SCALAR = new CpuFixture(CpuSettings.SCALAR);

    private final String kernels;

    private CpuFixture(String kernels) {
        this.kernels = kernels;
    }

    @Override
    public String name() {
        return "cpu (" + kernels + ")";
    }

    @Override
    public ExecutionBackend start(BackendSettings settings) {
        CpuBackend backend =
                CpuBackend.start(CpuSettings.defaults().withKernels(kernels).withCommon(settings));
        if (!backend.capabilities().kernels().equals(kernels)) {
            throw new AssertionError("asked for " + kernels + " kernels but the backend runs "
                    + backend.capabilities().kernels());
        }
        return backend;
    }

    @Override
    public void stop(ExecutionBackend backend) {
        ((CpuBackend) backend).close();
    }

    @Override
    public List<String> threadNamePrefixes() {
        return List.of("backplane-cpu-");
    }

    /** 40% of the heap per array: two fit, the third cannot. */
    @Override
    public long outOfMemoryElements() {
        return (long) (Runtime.getRuntime().maxMemory() * 0.4) / Float.BYTES;
    }

    @Override
    public boolean recoversFromDeviceLoss() {
        return true;
    }
}
