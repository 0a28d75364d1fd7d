package org.backplane.cpu.internal;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.backplane.cpu.internal.memory.HostMemory;
import org.backplane.cpu.internal.memory.Scratch;

/** One op's temporaries (converted inputs, results on their way to a narrower type), all given back when the op ends. */
final class Scratchpad implements AutoCloseable {
    private final HostMemory memory;
    private final List<Scratch> taken = new ArrayList<>();

    Scratchpad(HostMemory memory) {
        this.memory = memory;
    }

    /** Room for {@code n} float32 values; contents undefined. */
    MemorySegment floats(long n) {
        return bytes(n * Float.BYTES);
    }

    /** Room for {@code n} bytes; contents undefined. */
    MemorySegment bytes(long n) {
        Scratch s = memory.scratch(n);
        taken.add(s);
        return s.segment();
    }

    @Override
    public void close() {
        for (Scratch s : taken) {
            s.close();
        }
        taken.clear();
    }
}
