package org.backplane.cpu.internal.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Where blocks come from: the C library's {@code malloc} and {@code free} through FFM. Not an arena
 * per block: closing a shared arena makes the JVM stop every thread to check none is using it (about
 * 0.1 ms here), too slow for memory an op frees every few microseconds; and an arena's own
 * allocation zeroes what kernels overwrite anyway. Where the JVM does not allow native access,
 * blocks come from automatic arenas instead (zeroed, and given back by the collector), and the
 * backend says so at start.
 */
final class SystemMemory {
    private final MethodHandle malloc;
    private final MethodHandle free;
    private final String description;

    SystemMemory() {
        MethodHandle m;
        MethodHandle f;
        String why;
        try {
            Linker linker = Linker.nativeLinker();
            m = linker.downcallHandle(
                    linker.defaultLookup().find("malloc").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
            f = linker.downcallHandle(
                    linker.defaultLookup().find("free").orElseThrow(), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
            why = "malloc";
        } catch (RuntimeException e) {
            m = null;
            f = null;
            why = "automatic arenas, zeroed and freed by the collector (no native access to malloc: " + e.getMessage()
                    + ")";
        }
        this.malloc = m;
        this.free = f;
        this.description = why;
    }

    /** How blocks are allocated here, for the backend's device details. */
    String description() {
        return description;
    }

    /** A new block of exactly {@code size} bytes, 64-byte aligned. @throws OutOfMemoryError if the system has none */
    Block allocate(long size) {
        if (malloc == null) {
            MemorySegment s = Arena.ofAuto().allocate(size, Block.ALIGNMENT);
            return new Block(s, () -> {}); // unreachable once the pool lets go of it: the collector frees it
        }
        long raw;
        try {
            raw = ((MemorySegment) malloc.invokeExact(size + Block.ALIGNMENT - 1)).address();
        } catch (Throwable t) {
            throw new IllegalStateException("malloc failed", t);
        }
        if (raw == 0) {
            throw new OutOfMemoryError("malloc refused " + size + " bytes");
        }
        long aligned = (raw + Block.ALIGNMENT - 1) & -Block.ALIGNMENT;
        return new Block(MemorySegment.ofAddress(aligned).reinterpret(size), () -> release(raw));
    }

    private void release(long raw) {
        try {
            free.invokeExact(MemorySegment.ofAddress(raw));
        } catch (Throwable t) {
            throw new IllegalStateException("free failed", t);
        }
    }
}
