package org.backplane.cpu.internal.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Float32 elements of a segment, by element index: the one place kernels name the layout. */
public final class F32 {
    /** Native byte order, 4-byte aligned: the arrays' blocks are 64-byte aligned, views start at an element. */
    public static final ValueLayout.OfFloat LAYOUT = ValueLayout.JAVA_FLOAT;

    private F32() {}

    public static float get(MemorySegment s, long i) {
        return s.getAtIndex(LAYOUT, i);
    }

    public static void set(MemorySegment s, long i, float v) {
        s.setAtIndex(LAYOUT, i, v);
    }

    /** {@code n} elements from {@code src[so..]} to {@code dst[do..]}. */
    public static void copy(MemorySegment src, long so, MemorySegment dst, long dOff, long n) {
        MemorySegment.copy(src, so * Float.BYTES, dst, dOff * Float.BYTES, n * Float.BYTES);
    }

    /** {@code dst[o, o + n) = v}. */
    public static void fill(MemorySegment dst, long o, long n, float v) {
        if (v == 0f && Float.floatToRawIntBits(v) == 0) {
            dst.asSlice(o * Float.BYTES, n * Float.BYTES).fill((byte) 0);
            return;
        }
        long first = Math.min(n, 256);
        for (long i = 0; i < first; i++) {
            dst.setAtIndex(LAYOUT, o + i, v);
        }
        for (long done = first; done < n; ) { // then doubling copies, at memcpy's speed
            long chunk = Math.min(done, n - done);
            copy(dst, o, dst, o + done, chunk);
            done += chunk;
        }
    }

    /** The segment's element count. */
    public static long length(MemorySegment s) {
        return s.byteSize() / Float.BYTES;
    }
}
