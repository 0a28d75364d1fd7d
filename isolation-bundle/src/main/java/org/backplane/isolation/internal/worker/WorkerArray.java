package org.backplane.isolation.internal.worker;

import org.backplane.api.DType;
import org.backplane.api.Shape;
import org.backplane.api.StreamId;
import org.backplane.isolation.internal.wire.ArrayRef;
import org.backplane.spi.ArrayLayout;
import org.backplane.spi.ArrayStorage;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.EngineArray;

/** An array as the worker's real engine sees it: the host's description and the worker's storage slot. */
final class WorkerArray implements EngineArray {
    private final ArrayRef ref;
    private final StreamId stream;
    private final StorageSlot slot;
    private final CommandBatch producer;

    WorkerArray(ArrayRef ref, StreamId stream, StorageSlot slot, CommandBatch producer) {
        this.ref = ref;
        this.stream = stream;
        this.slot = slot;
        this.producer = producer;
    }

    /** The array an engine's {@code release} is given for a slot the host released: only its storage counts. */
    static WorkerArray released(StorageSlot slot) {
        Shape none = Shape.of(0);
        return new WorkerArray(
                new ArrayRef(slot.id, DType.BOOL, none, ArrayLayout.rowMajor(none), 0, 0, 0),
                new StreamId("released", WorkerServer.COPY_STREAM),
                slot,
                null);
    }

    @Override
    public Shape shape() {
        return ref.shape();
    }

    @Override
    public DType dtype() {
        return ref.dtype();
    }

    @Override
    public ArrayLayout layout() {
        return ref.layout();
    }

    @Override
    public StreamId stream() {
        return stream;
    }

    @Override
    public long generation() {
        return ref.generation();
    }

    @Override
    public CommandBatch producer() {
        return producer;
    }

    @Override
    public <T extends ArrayStorage> T storage(Class<T> type) {
        ArrayStorage s = slot.storage();
        if (s == null) {
            throw new IllegalStateException("no storage is bound to worker storage #" + slot.id + " yet");
        }
        if (!type.isInstance(s)) {
            throw new IllegalStateException(
                    "storage #" + slot.id + " is a " + s.getClass().getName() + ", not a " + type.getName());
        }
        return type.cast(s);
    }

    @Override
    public boolean hasStorage() {
        return slot.storage() != null;
    }

    @Override
    public void bind(ArrayStorage storage) {
        slot.bind(storage);
    }

    @Override
    public String toString() {
        return ref.dtype().id() + " " + ref.shape() + " (storage #" + slot.id + " of " + stream + ")";
    }
}
