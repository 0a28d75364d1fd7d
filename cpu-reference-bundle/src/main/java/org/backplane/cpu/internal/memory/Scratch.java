package org.backplane.cpu.internal.memory;

import java.lang.foreign.MemorySegment;

/** Native memory for one op's temporaries, from the pool and back to it at {@link #close}. */
public final class Scratch implements AutoCloseable {
    private final HostMemory memory;
    private final Block block;
    private final MemorySegment segment;

    Scratch(HostMemory memory, Block block, long bytes) {
        this.memory = memory;
        this.block = block;
        this.segment = block.segment.asSlice(0, bytes);
    }

    /** Exactly the bytes asked for; contents undefined. */
    public MemorySegment segment() {
        return segment;
    }

    @Override
    public void close() {
        memory.returnScratch(block);
    }
}
