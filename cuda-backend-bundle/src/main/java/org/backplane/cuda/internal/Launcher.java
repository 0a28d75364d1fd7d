package org.backplane.cuda.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Packs kernel arguments for {@code cuLaunchKernel}: each argument in its own 8-byte-aligned slot
 * (a {@code Dims} struct in 64 bytes) and an array of pointers to the slots. One per stream engine,
 * used under the stream's encode lock; the driver copies the arguments during the launch call.
 */
final class Launcher {
    private static final int SLOTS = 16;
    private static final int SLOT_BYTES = 64;

    private final MemorySegment slots;
    private final MemorySegment pointers;
    private int next;

    Launcher(Arena arena) {
        slots = arena.allocate((long) SLOTS * SLOT_BYTES, 64);
        pointers = arena.allocate(ADDRESS, SLOTS);
    }

    Launcher begin() {
        next = 0;
        return this;
    }

    private MemorySegment slot() {
        if (next == SLOTS) {
            throw new IllegalStateException("too many kernel arguments");
        }
        MemorySegment s = slots.asSlice((long) next * SLOT_BYTES, SLOT_BYTES);
        pointers.setAtIndex(ADDRESS, next, s);
        next++;
        return s;
    }

    Launcher i32(int v) {
        slot().set(JAVA_INT, 0, v);
        return this;
    }

    Launcher i64(long v) {
        slot().set(JAVA_LONG, 0, v);
        return this;
    }

    Launcher f32(float v) {
        slot().set(JAVA_FLOAT, 0, v);
        return this;
    }

    /** A device pointer. */
    Launcher ptr(long devicePointer) {
        return i64(devicePointer);
    }

    /** A {@code Dims} struct: up to 8 longs, the rest zero. */
    Launcher dims(long[] values) {
        MemorySegment s = slot();
        s.fill((byte) 0);
        for (int i = 0; i < values.length; i++) {
            s.setAtIndex(JAVA_LONG, i, values[i]);
        }
        return this;
    }

    MemorySegment params() {
        return pointers;
    }
}
