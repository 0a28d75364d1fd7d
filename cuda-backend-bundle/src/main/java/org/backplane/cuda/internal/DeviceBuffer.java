package org.backplane.cuda.internal;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Device memory behind one array. Freed once: when its array is closed and no queued op on any
 * stream still uses it, or when it becomes unreachable (queued work keeps its arrays reachable, so
 * by then every op that used it has completed).
 */
final class DeviceBuffer {
    final long pointer;
    final long bytes;
    final AtomicBoolean freed = new AtomicBoolean();
    /** Ops encoded on any stream that read or write this buffer and have not completed yet. */
    private final AtomicInteger uses = new AtomicInteger();
    private volatile boolean closed;

    DeviceBuffer(long pointer, long bytes) {
        this.pointer = pointer;
        this.bytes = bytes;
    }

    /** An encoded op uses the buffer. */
    void use() {
        uses.incrementAndGet();
    }

    /** An op that used the buffer has ended; true if the buffer may now be freed. */
    boolean done() {
        return uses.decrementAndGet() == 0 && closed;
    }

    /** Its array was closed; true if no op uses the buffer any more, so it may be freed now. */
    boolean close() {
        closed = true;
        return uses.get() == 0;
    }
}
