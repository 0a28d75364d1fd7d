package org.backplane.testkit.isolated;

import java.time.Duration;
import java.util.List;
import org.backplane.api.ExecutionBackend;
import org.backplane.cpu.CpuBackend;
import org.backplane.cpu.CpuSettings;
import org.backplane.isolation.IsolationSettings;
import org.backplane.spi.BackendSettings;
import org.backplane.testkit.BackendFixture;

/** Runs the contract test kit against the CPU backend in a supervised worker process. */
final class IsolatedCpuFixture implements BackendFixture {
    static final IsolatedCpuFixture INSTANCE = new IsolatedCpuFixture();

    /** The worker's heap: small, so that the out-of-memory tests find its end quickly. */
    static final long WORKER_HEAP = 1L << 30;

    static IsolationSettings isolation() {
        return IsolationSettings.PROCESS_DEFAULT
                .withJvmOptions(List.of("-Xmx" + (WORKER_HEAP >> 20) + "m"))
                .withHeartbeat(Duration.ofMillis(200), Duration.ofSeconds(5));
    }

    @Override
    public String name() {
        return "cpu (isolated in a worker process)";
    }

    @Override
    public ExecutionBackend start(BackendSettings settings) {
        return CpuBackend.start(CpuSettings.defaults().withCommon(settings), isolation());
    }

    @Override
    public void stop(ExecutionBackend backend) {
        ((CpuBackend) backend).close();
    }

    @Override
    public List<String> threadNamePrefixes() {
        return List.of("backplane-cpu-");
    }

    /** 40% of the worker's heap per array: two fit, the third cannot. */
    @Override
    public long outOfMemoryElements() {
        return (long) (WORKER_HEAP * 0.4) / Float.BYTES;
    }

    @Override
    public boolean recoversFromDeviceLoss() {
        return true;
    }
}
