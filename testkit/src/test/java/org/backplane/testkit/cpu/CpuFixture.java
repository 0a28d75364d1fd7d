package org.backplane.testkit.cpu;

import java.util.List;
import org.backplane.api.ExecutionBackend;
import org.backplane.cpu.CpuBackend;
import org.backplane.cpu.CpuSettings;
import org.backplane.spi.BackendSettings;
import org.backplane.testkit.BackendFixture;

/** Runs the contract test kit against the CPU backend (fast kernels). */
final class CpuFixture implements BackendFixture {
    static final CpuFixture FAST = new CpuFixture();

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public ExecutionBackend start(BackendSettings settings) {
        return CpuBackend.start(CpuSettings.defaults().withCommon(settings));
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
