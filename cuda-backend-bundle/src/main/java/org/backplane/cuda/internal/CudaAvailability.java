package org.backplane.cuda.internal;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Whether this machine can run the CUDA backend, and if not, why, in words an operator can act on.
 */
public record CudaAvailability(boolean available, String reason, int devices) {

    /** Loads the driver (for good: see {@link Driver}) and counts devices; never throws. */
    public static CudaAvailability probe() {
        try (Arena arena = Arena.ofShared()) {
            Driver driver;
            try {
                driver = new Driver();
            } catch (IllegalArgumentException | IllegalStateException e) {
                return new CudaAvailability(
                        false,
                        Driver.LIBRARY + " could not be loaded (no NVIDIA driver on this machine): " + e.getMessage(),
                        0);
            }
            int init = (int) driver.cuInit.invokeExact(0);
            if (init != 0) {
                return new CudaAvailability(false, "cuInit failed: " + driver.describe(init), 0);
            }
            MemorySegment count = arena.allocate(JAVA_INT);
            int r = (int) driver.cuDeviceGetCount.invokeExact(count);
            if (r != 0) {
                return new CudaAvailability(false, "cuDeviceGetCount failed: " + driver.describe(r), 0);
            }
            int n = count.get(JAVA_INT, 0);
            return n == 0
                    ? new CudaAvailability(false, "the NVIDIA driver reports no CUDA device", 0)
                    : new CudaAvailability(true, n + " CUDA device(s)", n);
        } catch (Throwable t) {
            return new CudaAvailability(false, "probing CUDA failed: " + t, 0);
        }
    }
}
