package org.backplane.cpu.internal.kernels;

import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * Lets long-running kernels stop between blocks of work: when the backend stops, or when the work's
 * stream generation failed and its results would be discarded anyway.
 */
public final class Cancel {
    private final BooleanSupplier abandoned;
    private volatile boolean stopped;

    /** @param abandoned true while the current work's results are no longer wanted */
    public Cancel(BooleanSupplier abandoned) {
        this.abandoned = abandoned;
    }

    /** Never cancelled unless {@link #stop()} is called. */
    public static Cancel none() {
        return new Cancel(() -> false);
    }

    public void stop() {
        stopped = true;
    }

    public boolean isStopped() {
        return stopped;
    }

    public boolean isCancelled() {
        return stopped || abandoned.getAsBoolean();
    }

    /** Throws {@link CancellationException} once cancelled. */
    public void check() {
        if (isCancelled()) {
            throw new CancellationException(
                    stopped ? "the backend is stopping" : "the stream failed; its work is discarded");
        }
    }
}
