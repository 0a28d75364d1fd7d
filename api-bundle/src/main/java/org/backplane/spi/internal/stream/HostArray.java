package org.backplane.spi.internal.stream;

import java.lang.foreign.MemorySegment;
import java.nio.FloatBuffer;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.api.Shape;

/**
 * The {@link DeviceArray} a host holds: the API and nothing else. The array's state, which the
 * engine sees, stays behind it in an {@link ArrayImpl}.
 */
final class HostArray implements DeviceArray {
    /** Largest element count a {@code float[]} download can hold. */
    static final long MAX_JAVA_ARRAY = Integer.MAX_VALUE - 8;

    final ArrayImpl array;

    HostArray(ArrayImpl array) {
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
        return array.owner.facade;
    }

    @Override
    public long generation() {
        return array.generation.number;
    }

    @Override
    public boolean isReady() {
        return array.isReady();
    }

    @Override
    public float[] download() {
        long n = array.size();
        if (n > MAX_JAVA_ARRAY) {
            throw new IllegalStateException("array of shape " + shape() + " has " + n
                    + " elements, more than a float[] can hold; download into a MemorySegment instead");
        }
        float[] out = new float[(int) n];
        array.owner.facade.read(array, MemorySegment.ofArray(out));
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
        MemorySegment whole = MemorySegment.ofBuffer(target);
        array.owner.facade.read(array, whole.asSlice(0, array.byteSize()));
        target.position(target.position() + (int) array.size());
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
            throw new IllegalArgumentException("target segment has " + target.byteSize()
                    + " bytes but the array of shape " + shape() + " needs " + array.byteSize());
        }
        array.owner.facade.read(array, target.asSlice(0, array.byteSize()));
    }

    @Override
    public void close() {
        if (!array.closed) {
            array.closed = true;
            array.owner.release(array);
        }
    }

    @Override
    public String toString() {
        return array.toString();
    }
}
