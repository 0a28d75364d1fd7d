package org.backplane.cpu.internal.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Where blocks come from: the C library's {@code malloc} and {@code free} through FFM, so that a new
 * block is not written twice (an {@link Arena}'s own allocation zeroes it, and kernels write every
 * element of their outputs anyway; large blocks come from the system as untouched pages). Where the
 * JVM does not allow native access, blocks come zeroed from an arena instead, and the backend says
 * so at start.
 */
final class SystemMemory {
    private final MethodHandle malloc;
    private final MethodHandle free;
    private final String description;

    SystemMemory() {
        MethodHandle m = null;
        MethodHandle f = null;
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
            why = "zeroed arena memory (no native access to malloc: " + e.getMessage() + ")";
        }
        this.malloc = m;
        this.free = f;
        this.description = why;
    }

    /** How blocks are allocated here, for the backend's device details. */
    String description() {
        return description;
    }

    /** A new block of at least {@code size} bytes, 64-byte aligned. @throws OutOfMemoryError if the system has none */
    @SuppressWarnings("MustBeClosedChecker") // the arena lives as long as the block; Block.free closes it
    Block allocate(long size) {
        Arena arena = Arena.ofShared();
        try {
            if (malloc == null) {
                return new Block(arena, arena.allocate(size, Block.ALIGNMENT));
            }
            long raw = ((MemorySegment) malloc.invokeExact(size + Block.ALIGNMENT - 1)).address();
            if (raw == 0) {
                throw new OutOfMemoryError("malloc refused " + size + " bytes");
            }
            long aligned = (raw + Block.ALIGNMENT - 1) & -Block.ALIGNMENT;
            MemorySegment segment = MemorySegment.ofAddress(aligned).reinterpret(size, arena, s -> release(raw));
            return new Block(arena, segment);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        } catch (Throwable t) {
            arena.close();
            throw new IllegalStateException("malloc failed", t);
        }
    }

    private void release(long raw) {
        try {
            free.invokeExact(MemorySegment.ofAddress(raw));
        } catch (Throwable t) {
            throw new IllegalStateException("free failed", t);
        }
    }
}
