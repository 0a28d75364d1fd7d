package org.backplane.metal;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.backplane.metal.kit.MetalFixture;
import org.backplane.spi.BackendSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;

/** A fresh Metal backend on a reset simulator for each test; skipped where there is no simulator (a Mac). */
@Tag("simulator")
abstract class SimulatorTestSupport {
    protected Simulator sim;
    protected MetalBackend backend;

    @BeforeEach
    void startOnTheSimulator() throws InterruptedException {
        assumeTrue(Simulator.active(), "needs the Metal simulator (Linux)");
        sim = Simulator.get();
        sim.awaitQuiet();
        backend = (MetalBackend) MetalFixture.INSTANCE.start(BackendSettings.DEFAULT);
    }

    @AfterEach
    void stopAndResetTheSimulator() {
        if (backend != null) {
            backend.close();
        }
        if (sim != null) {
            sim.reset();
        }
    }
}
