package org.backplane.metal.kit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.backplane.api.ExecutionBackend;
import org.backplane.metal.MetalBackend;
import org.backplane.metal.MetalSettings;
import org.backplane.metal.Simulator;
import org.backplane.spi.BackendSettings;
import org.backplane.testkit.BackendFixture;

/**
 * Runs the contract test kit against the Metal backend: on Linux against the Metal simulator, on a
 * Mac ({@code -Pmetal-mac}) against real Metal. Skipped, with the reason, where neither is.
 */
public final class MetalFixture implements BackendFixture {
    public static final MetalFixture INSTANCE = new MetalFixture();
    /** On the simulator: the device's memory, small enough for a real out-of-memory to be cheap. */
    static final long SIMULATED_MEMORY = 512L << 20;

    @Override
    public String name() {
        return Simulator.active() ? "metal (simulator)" : "metal";
    }

    @Override
    public ExecutionBackend start(BackendSettings settings) {
        String library = Simulator.library();
        assumeTrue(MetalBackend.isAvailable(library), () -> MetalBackend.availability(library));
        if (Simulator.active()) {
            Simulator.get().reset();
            Simulator.get().setMemoryLimit(SIMULATED_MEMORY);
        }
        return MetalBackend.start(MetalSettings.defaults().withLibrary(library).withCommon(settings));
    }

    @Override
    public void stop(ExecutionBackend backend) {
        ((MetalBackend) backend).close();
    }

    @Override
    public List<String> threadNamePrefixes() {
        return List.of("backplane-metal-");
    }

    /** 40% of the simulated device per array: two fit, the third cannot. A Mac's memory is not for this. */
    @Override
    public long outOfMemoryElements() {
        return Simulator.active() ? (long) (SIMULATED_MEMORY * 0.4) / Float.BYTES : 0;
    }

    @Override
    public boolean recoversFromDeviceLoss() {
        return false;
    }
}
