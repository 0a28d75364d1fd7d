package org.backplane.spi;

import java.lang.foreign.MemorySegment;
import java.nio.FloatBuffer;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.api.Shape;
import org.backplane.api.StreamError;

/**
 * The SPI's device array. Its data lives in engine-defined {@link #storage()} (a {@code float[]}
 * on the CPU, a device pointer on a GPU), written by the work of its producing batch.
 */
public final class BackplaneArray implements DeviceArray {
    /** Largest element count a {@code float[]} download can hold. */
    static final long MAX_JAVA_ARRAY = Integer.MAX_VALUE - 8;

    final StreamCore stream;
    final Generation generation;
    private final Shape shape;
    /** The batch whose work writes this array, or null if the data was there at creation (upload). */
    final CommandBatch producer;
    private volatile Object storage;
    private volatile boolean closed;

    BackplaneArray(StreamCore stream, Generation generation, Shape shape, CommandBatch producer) {
        this.stream = stream;
        this.generation = generation;
        this.shape = shape;
        this.producer = producer;
    }

    @Override
    public Shape shape() {
        return shape;
    }

    @Override
    public DType dtype() {
        return DType.FLOAT32;
    }

    @Override
    public ComputeStream stream() {
        return stream;
    }

    /** The SPI view of the owning stream. */
    public StreamCore owner() {
        return stream;
    }

    @Override
    public long generation() {
        return generation.number;
    }

    public long byteSize() {
        return shape.size() * DType.FLOAT32.byteSize();
    }

    /**
     * The batch whose work writes this array, or null if the data was there at creation (an
     * upload). Engines use it to make a consumer on another stream wait for the producer.
     */
    public CommandBatch producerBatch() {
        return producer;
    }

    /** The engine's storage for the data, or null before the producing work wrote it. */
    public Object storage() {
        return storage;
    }

    /** Set by the engine when it allocates or writes the data. */
    public void storage(Object value) {
        this.storage = value;
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public boolean isReady() {
        return !closed && generation == stream.currentGeneration() && generation.first == null
                && (producer == null || producer.status == CommandBatch.DONE);
    }

    /**
     * Whether the producing work has settled: finished, failed, abandoned by a failure of its
     * generation, or invalidated by a reset. Waiting for a settled array never blocks.
     */
    boolean isSettled() {
        return producer == null || producer.status >= CommandBatch.DONE || generation.first != null
                || generation != stream.currentGeneration() || generation.isClosingOrClosed() && generation.inFlight.get() == 0;
    }

    /**
     * For work on another stream that consumes this array: the error that makes it unusable (its
     * producing work failed, its generation failed before the work finished, or its stream was reset),
     * or null if it holds valid data. Only meaningful once {@link #isSettled()}.
     */
    StreamError unusableBecause() {
        boolean done = producer == null || producer.status == CommandBatch.DONE;
        if (generation != stream.currentGeneration()) {
            return generation.first != null ? generation.first
                    : stream.syntheticError(org.backplane.api.ErrorKind.UPSTREAM_FAILURE,
                            "array of generation " + generation.number + " was invalidated by a reset of its stream", null);
        }
        if (done) {
            return null;
        }
        StreamError e = producer.error;
        return e != null ? e : generation.first;
    }

    @Override
    public float[] download() {
        long n = shape.size();
        if (n > MAX_JAVA_ARRAY) {
            throw new IllegalStateException("array of shape " + shape + " has " + n
                    + " elements, more than a float[] can hold; download into a MemorySegment instead");
        }
        float[] out = new float[(int) n];
        stream.read(this, MemorySegment.ofArray(out));
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
        if (target.remaining() < shape.size()) {
            throw new IllegalArgumentException("target buffer has " + target.remaining() + " floats remaining but the array of shape "
                    + shape + " has " + shape.size());
        }
        MemorySegment whole = MemorySegment.ofBuffer(target);
        stream.read(this, whole.asSlice(0, byteSize()));
        target.position(target.position() + (int) shape.size());
    }

    @Override
    public void download(MemorySegment target) {
        if (target == null) {
            throw new NullPointerException("target segment must not be null");
        }
        if (target.isReadOnly()) {
            throw new IllegalArgumentException("target segment is read-only");
        }
        if (target.byteSize() < byteSize()) {
            throw new IllegalArgumentException("target segment has " + target.byteSize() + " bytes but the array of shape "
                    + shape + " needs " + byteSize());
        }
        stream.read(this, target.asSlice(0, byteSize()));
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            stream.release(this);
        }
    }

    @Override
    public String toString() {
        String status = closed ? "closed" : isReady() ? "ready" : generation != stream.currentGeneration() ? "stale"
                : generation.first != null ? "failed" : "pending";
        return "DeviceArray[" + stream.id() + " gen " + generation.number + ", " + shape + " float32, " + status + "]";
    }
}
