package org.backplane.cpu.internal.memory;

import java.lang.foreign.MemorySegment;

/**
 * One block of native memory. Its lifetime is the pool's to manage: a block is handed out, returned
 * and freed by {@link HostMemory} alone, and only once no queued op or copy uses the array it held
 * (its buffer's use count), so nothing reads it after it is freed.
 */
final class Block {
    /** 64 bytes: a cache line, and the widest vector any CPU here loads. */
    static final long ALIGNMENT = 64;

    final long size;
    final MemorySegment segment;
    private final Runnable free;

    Block(MemorySegment segment, Runnable free) {
        this.segment = segment;
        this.size = segment.byteSize();
        this.free = free;
    }

    /** Gives the memory back to the system. */
    void free() {
        free.run();
    }
}
