package org.backplane.spi;

import org.backplane.api.fault.Hold;

/**
 * A test's {@link Hold} on one stream: while it is active, the stream's committed batches wait in
 * the SPI instead of reaching the engine, so they stay in flight however fast the device is.
 */
final class StreamHold implements Hold {
    private final StreamCore stream;
    private volatile boolean released;

    StreamHold(StreamCore stream) {
        this.stream = stream;
    }

    @Override
    public void release() {
        synchronized (this) {
            if (released) {
                return;
            }
            released = true;
        }
        stream.holdReleased(this);
    }

    @Override
    public boolean isReleased() {
        return released;
    }
}
