package org.backplane.spi.internal.stream;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.backplane.api.DType;
import org.backplane.api.ErrorKind;
import org.backplane.api.Shape;
import org.backplane.api.StreamError;
import org.backplane.api.StreamId;
import org.backplane.spi.ArrayLayout;
import org.backplane.spi.ArrayStorage;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.EngineArray;

/**
 * An array's state as the SPI and its engine see it: the generation it belongs to, the batch that
 * produces it, and the engine's storage. Hosts hold a {@link HostArray} in front of it. Knows when
 * its data may be read (S6).
 *
 * <p>A view (made by reshape, slice, transpose, ...) has a root: the array whose storage it shares,
 * with its own shape and layout. Its producer, generation and readiness are the root's, so a view
 * of failed or stale work is failed or stale too.
 */
final class ArrayImpl implements EngineArray {
    final Stream owner;
    final Generation generation;
    private final Shape shape;
    private final DType dtype;
    /** The batch whose work writes this array, or null if the data was there at creation (upload). */
    final BatchImpl producer;
    /** The array whose storage a view shares; null for an array that has its own. */
    private final ArrayImpl root;

    private final ArrayLayout layout;
    private volatile ArrayStorage storage;
    volatile boolean closed;
    /** Views made of this (root) array: while there are any, closing it cannot free its storage. */
    final AtomicInteger views = new AtomicInteger();

    /** This array's memory charge (S12), for a root array that was charged; credited once. */
    volatile MemoryBudget.Charge charge;

    ArrayImpl(Stream owner, Generation generation, Shape shape, DType dtype, BatchImpl producer) {
        this.owner = owner;
        this.generation = generation;
        this.shape = shape;
        this.dtype = dtype;
        this.producer = producer;
        this.root = null;
        this.layout = ArrayLayout.rowMajor(shape);
    }

    /** A view of {@code root} with another shape and layout. */
    private ArrayImpl(ArrayImpl root, Shape shape, ArrayLayout layout) {
        this.root = root;
        this.owner = root.owner;
        this.generation = root.generation;
        this.shape = shape;
        this.dtype = root.dtype;
        this.producer = root.producer;
        this.layout = layout;
    }

    /** A view of this array's data (or its root's) as {@code viewShape} with {@code viewLayout}. */
    ArrayImpl view(Shape viewShape, ArrayLayout viewLayout) {
        ArrayImpl r = rootArray();
        r.views.incrementAndGet();
        return new ArrayImpl(r, viewShape, viewLayout);
    }

    /** The array that owns the storage: itself, or the root of a view. */
    ArrayImpl rootArray() {
        return root == null ? this : root;
    }

    private final AtomicBoolean released = new AtomicBoolean();

    /** Lets the engine free this root array's storage and credits its memory (S12); once. */
    void releaseOnce() {
        if (released.compareAndSet(false, true)) {
            owner.release(this);
        }
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
    public ArrayLayout layout() {
        return layout;
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
        ArrayStorage s = rootArray().storage;
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
        return rootArray().storage != null;
    }

    @Override
    public void bind(ArrayStorage value) {
        if (root != null) {
            throw new IllegalStateException("a view shares the storage of the array it views; bind that one");
        }
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
        return "DeviceArray[" + owner.id + " gen " + generation.number + ", " + shape + " " + dtype.id()
                + (root != null ? " view" : "") + ", " + status + "]";
    }
}
