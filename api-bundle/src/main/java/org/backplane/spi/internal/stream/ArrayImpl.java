package org.backplane.spi.internal.stream;

import org.backplane.api.DType;
import org.backplane.api.ErrorKind;
import org.backplane.api.Shape;
import org.backplane.api.StreamError;
import org.backplane.api.StreamId;
import org.backplane.spi.ArrayStorage;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.EngineArray;

/**
 * An array's state as the SPI and its engine see it: the generation it belongs to, the batch that
 * produces it, and the engine's storage. Hosts hold a {@link HostArray} in front of it. Knows when
 * its data may be read (S6).
 */
final class ArrayImpl implements EngineArray {
    final Stream owner;
    final Generation generation;
    private final Shape shape;
    private final DType dtype;
    /** The batch whose work writes this array, or null if the data was there at creation (upload). */
    final BatchImpl producer;

    private volatile ArrayStorage storage;
    volatile boolean closed;

    ArrayImpl(Stream owner, Generation generation, Shape shape, DType dtype, BatchImpl producer) {
        this.owner = owner;
        this.generation = generation;
        this.shape = shape;
        this.dtype = dtype;
        this.producer = producer;
    }

    @Override
    public Shape shape() {
        return shape;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public StreamId stream() {
        return owner.id;
    }

    @Override
    public long generation() {
        return generation.number;
    }

    @Override
    public CommandBatch producer() {
        return producer;
    }

    @Override
    public <T extends ArrayStorage> T storage(Class<T> type) {
        ArrayStorage s = storage;
        if (s == null) {
            throw new IllegalStateException("array " + shape + " of " + owner.id + " has no data bound yet");
        }
        if (!type.isInstance(s)) {
            throw new IllegalStateException("array " + shape + " of " + owner.id + " holds "
                    + s.getClass().getSimpleName() + ", not " + type.getSimpleName()
                    + " (an array of another backend?)");
        }
        return type.cast(s);
    }

    @Override
    public boolean hasStorage() {
        return storage != null;
    }

    @Override
    public void bind(ArrayStorage value) {
        this.storage = value;
    }

    /** True once the producing work completed successfully in the stream's current generation. */
    boolean isReady() {
        return !closed
                && generation == owner.slot.current()
                && generation.first == null
                && (producer == null || producer.status == BatchImpl.DONE);
    }

    /**
     * Whether the producing work has settled: finished, failed, abandoned by a failure of its
     * generation, or invalidated by a reset. Waiting for a settled array never blocks.
     */
    boolean isSettled() {
        return producer == null
                || producer.status >= BatchImpl.DONE
                || generation.first != null
                || generation != owner.slot.current()
                || (generation.isClosingOrClosed() && generation.inFlight.get() == 0);
    }

    /**
     * For work on another stream that consumes this array: the error that makes it unusable (its
     * producing work failed, its generation failed before the work finished, or its stream was
     * reset), or null if it holds valid data. Only meaningful once {@link #isSettled()}.
     */
    StreamError unusableBecause() {
        if (generation != owner.slot.current()) {
            return generation.first != null
                    ? generation.first
                    : owner.slot
                            .error(ErrorKind.UPSTREAM_FAILURE)
                            .message("array of generation " + generation.number
                                    + " was invalidated by a reset of its stream")
                            .build();
        }
        if (producer == null || producer.status == BatchImpl.DONE) {
            return null;
        }
        StreamError e = producer.error;
        return e != null ? e : generation.first;
    }

    @Override
    public String toString() {
        String status = closed
                ? "closed"
                : isReady()
                        ? "ready"
                        : generation != owner.slot.current()
                                ? "stale"
                                : generation.first != null ? "failed" : "pending";
        return "DeviceArray[" + owner.id + " gen " + generation.number + ", " + shape + " "
                + dtype.name().toLowerCase(java.util.Locale.ROOT) + ", " + status + "]";
    }
}
