package org.backplane.cpu.internal.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One block of native memory, in an arena of its own: once the block is freed, any access to it
 * throws instead of reading memory that belongs to someone else or crashing the JVM.
 */
final class Block {
    /** 64 bytes: a cache line, and the widest vector any CPU here loads. */
    static final long ALIGNMENT = 64;

    final long size;
    final MemorySegment segment;
    private final Arena arena;

    Block(Arena arena, MemorySegment segment) {
        this.arena = arena;
        this.segment = segment;
        this.size = segment.byteSize();
    }

    /** Gives the memory back to the system; later accesses throw. */
    void free() {
        arena.close();
    }
}
