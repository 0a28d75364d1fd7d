package org.backplane.cuda.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Packs kernel arguments for {@code cuLaunchKernel}: each argument in its own 8-byte-aligned slot of
 * its size (a {@code Dims} struct in 64 bytes, an {@code Operand} in 88) and an array of pointers to
 * the slots. One per stream engine, used under the stream's encode lock; the driver copies the
 * arguments during the launch call.
 */
final class Launcher {
    private static final int MAX_ARGS = 32;
    private static final int BYTES = 4096;
    private static final int RANK = 8;

    private final MemorySegment slots;
    private final MemorySegment pointers;
    private int next;
    private long used;

    Launcher(Arena arena) {
        slots = arena.allocate(BYTES, 64);
        pointers = arena.allocate(ADDRESS, MAX_ARGS);
    }

    Launcher begin() {
        next = 0;
        used = 0;
        return this;
    }

    private MemorySegment slot(long bytes) {
        if (next == MAX_ARGS || used + bytes > BYTES) {
            throw new IllegalStateException("too many kernel arguments");
        }
        MemorySegment s = slots.asSlice(used, bytes);
        s.fill((byte) 0);
        pointers.setAtIndex(ADDRESS, next, s);
        next++;
        used += (bytes + 7) & ~7L;
        return s;
    }

    Launcher i32(int v) {
        slot(8).set(JAVA_INT, 0, v);
        return this;
    }

    Launcher i64(long v) {
        slot(8).set(JAVA_LONG, 0, v);
        return this;
    }

    Launcher f32(float v) {
        slot(8).set(JAVA_FLOAT, 0, v);
        return this;
    }

    /** A device pointer. */
    Launcher ptr(long devicePointer) {
        return i64(devicePointer);
    }

    /** A {@code Dims} struct: up to 8 longs, the rest zero. */
    Launcher dims(long[] values) {
        MemorySegment s = slot(RANK * 8L);
        for (int i = 0; i < values.length; i++) {
            s.setAtIndex(JAVA_LONG, i, values[i]);
        }
        return this;
    }

    /** An {@code Operand} struct: pointer, offset, strides (up to 8) and type code. */
    Launcher operand(long pointer, long offset, long[] strides, int dtype) {
        MemorySegment s = slot(16 + RANK * 8L + 8);
        s.set(JAVA_LONG, 0, pointer);
        s.set(JAVA_LONG, 8, offset);
        for (int i = 0; i < strides.length; i++) {
            s.setAtIndex(JAVA_LONG, 2 + i, strides[i]);
        }
        s.set(JAVA_INT, 16 + RANK * 8L, dtype);
        return this;
    }

    MemorySegment params() {
        return pointers;
    }
}
