package org.backplane.spi.internal.stream;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.FloatBuffer;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.api.Shape;
import org.backplane.spi.DTypes;

/**
 * The {@link DeviceArray} a host holds: the API and nothing else. The array's state, which the
 * engine sees, stays behind it in an {@link ArrayImpl}. Downloads in another Java type convert on
 * the host by the rules of {@link DType}.
 */
final class HostArray implements DeviceArray {
    /** Largest element count a Java array download can hold. */
    static final long MAX_JAVA_ARRAY = Integer.MAX_VALUE - 8;

    final ArrayImpl array;

    /** The stream's facade: arrays keep it reachable, so a stream is leaked only once nothing of it is held. */
    private final StreamImpl stream;

    HostArray(StreamImpl stream, ArrayImpl array) {
        this.stream = stream;
        this.array = array;
    }

    @Override
    public Shape shape() {
        return array.shape();
    }

    @Override
    public DType dtype() {
        return array.dtype();
    }

    @Override
    public ComputeStream stream() {
        return stream;
    }

    @Override
    public long generation() {
        return array.generation.number;
    }

    @Override
    public boolean isReady() {
        return array.isReady();
    }

    private int javaLength() {
        long n = array.size();
        if (n > MAX_JAVA_ARRAY) {
            throw new IllegalStateException("array of shape " + shape() + " has " + n
                    + " elements, more than a Java array can hold; download into a MemorySegment instead");
        }
        return (int) n;
    }

    /** The elements in their own type, row-major, in a confined segment of {@code arena}. */
    private MemorySegment raw(Arena arena) {
        MemorySegment s = arena.allocate(Math.max(1, array.byteSize()), 8).asSlice(0, array.byteSize());
        stream.read(array, s);
        return s;
    }

    @Override
    public float[] download() {
        float[] out = new float[javaLength()];
        if (array.dtype() == DType.FLOAT32) {
            stream.read(array, MemorySegment.ofArray(out));
            return out;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = raw(arena);
            for (int i = 0; i < out.length; i++) {
                out[i] = (float) DTypes.read(s, array.dtype(), i);
            }
        }
        return out;
    }

    @Override
    public int[] downloadInts() {
        int[] out = new int[javaLength()];
        if (array.dtype() == DType.INT32) {
            stream.read(array, MemorySegment.ofArray(out));
            return out;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = raw(arena);
            DType t = array.dtype();
            for (int i = 0; i < out.length; i++) {
                out[i] = t.isFloatingPoint()
                        ? (int) DTypes.toInteger(DTypes.read(s, t, i), DType.INT32)
                        : Math.clamp(DTypes.readLong(s, t, i), Integer.MIN_VALUE, Integer.MAX_VALUE);
            }
        }
        return out;
    }

    @Override
    public long[] downloadLongs() {
        long[] out = new long[javaLength()];
        if (array.dtype() == DType.INT64) {
            stream.read(array, MemorySegment.ofArray(out));
            return out;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = raw(arena);
            for (int i = 0; i < out.length; i++) {
                out[i] = DTypes.readLong(s, array.dtype(), i);
            }
        }
        return out;
    }

    @Override
    public boolean[] downloadBooleans() {
        boolean[] out = new boolean[javaLength()];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = raw(arena);
            for (int i = 0; i < out.length; i++) {
                double v = DTypes.read(s, array.dtype(), i);
                out[i] = v != 0 || Double.isNaN(v);
            }
        }
        return out;
    }

    @Override
    public void download(FloatBuffer target) {
        if (target == null) {
            throw new NullPointerException("target buffer must not be null");
        }
        if (target.isReadOnly()) {
            throw new IllegalArgumentException("target buffer is read-only");
        }
        if (target.remaining() < array.size()) {
            throw new IllegalArgumentException("target buffer has " + target.remaining()
                    + " floats remaining but the array of shape " + shape() + " has " + array.size());
        }
        if (array.dtype() == DType.FLOAT32) {
            MemorySegment whole = MemorySegment.ofBuffer(target);
            stream.read(array, whole.asSlice(0, array.byteSize()));
            target.position(target.position() + (int) array.size());
        } else {
            target.put(download());
        }
    }

    @Override
    public void download(MemorySegment target) {
        if (target == null) {
            throw new NullPointerException("target segment must not be null");
        }
        if (target.isReadOnly()) {
            throw new IllegalArgumentException("target segment is read-only");
        }
        if (target.byteSize() < array.byteSize()) {
            throw new IllegalArgumentException(
                    "target segment has " + target.byteSize() + " bytes but the array of shape " + shape() + " ("
                            + array.dtype().id() + ") needs " + array.byteSize());
        }
        stream.read(array, target.asSlice(0, array.byteSize()));
    }

    @Override
    public void close() {
        if (!array.closed) {
            array.closed = true;
            ArrayImpl root = array.rootArray();
            if (root != array) {
                // the last view of a closed array lets its storage go
                if (root.views.decrementAndGet() == 0 && root.closed) {
                    root.releaseOnce();
                }
            } else if (root.views.get() == 0) {
                root.releaseOnce();
            }
        }
    }

    @Override
    public String toString() {
        return array.toString();
    }
}
