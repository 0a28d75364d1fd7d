package org.backplane.cpu.internal;

import org.backplane.cpu.internal.kernels.Cancel;
import org.backplane.spi.Command;

/** How the CPU backend computes a command: {@link CpuLowering} (the fast kernels) or {@link ReferenceLowering}. */
interface CpuOps {
    /** {@code fast}, {@code scalar} or {@code reference}. */
    String name();

    /**
     * The command's output, in new storage. May throw {@link OutOfMemoryError} and
     * {@link BadOpInputException}; the engine turns both into the stream's error.
     */
    HostData run(Command command, Cancel cancel);
}
