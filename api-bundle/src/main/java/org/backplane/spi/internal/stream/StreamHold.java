package org.backplane.spi.internal.stream;

import org.backplane.api.fault.Hold;

/**
 * A test's {@link Hold} on one stream: while it is active, the stream's committed batches wait in
 * the SPI instead of reaching the engine, so they stay in flight however fast the device is.
 */
final class StreamHold implements Hold {
    private final Batcher batcher;
    private volatile boolean released;

    StreamHold(Batcher batcher) {
        this.batcher = batcher;
    }

    @Override
    public void release() {
        synchronized (this) {
            if (released) {
                return;
            }
            released = true;
        }
        batcher.holdReleased(this);
    }

    @Override
    public boolean isReleased() {
        return released;
    }
}
