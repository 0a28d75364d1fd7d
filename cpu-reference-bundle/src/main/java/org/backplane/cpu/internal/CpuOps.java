package org.backplane.cpu.internal;

import org.backplane.cpu.internal.kernels.Cancel;
import org.backplane.spi.Command;

/** How the CPU backend computes a command: {@link CpuLowering} (the fast kernels) or {@link ReferenceLowering}. */
interface CpuOps {
    /** {@code fast}, {@code scalar} or {@code reference}. */
    String name();

    /**
     * Computes the command into its output's storage (allocated when the op was encoded), every
     * element of it, with temporaries from {@code pad}. May throw {@link BadOpInputException}, and
     * {@link org.backplane.cpu.internal.memory.HostMemoryExhausted} or {@link OutOfMemoryError} for
     * temporaries; the engine turns them into the stream's error.
     */
    void run(Command command, Cancel cancel, Scratchpad pad);
}
