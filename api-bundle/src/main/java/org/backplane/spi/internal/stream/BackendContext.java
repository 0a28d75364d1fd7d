package org.backplane.spi.internal.stream;

import org.backplane.api.DType;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.Shape;
import org.backplane.api.StreamError;
import org.backplane.api.StreamId;
import org.backplane.api.StreamTransition;
import org.backplane.api.fault.FaultRule;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.ErrorScope;
import org.backplane.spi.ResultChecker;

/** What a stream needs from the backend that owns it. Implemented by the backend core. */
public interface BackendContext {
    String id();

    /** The backend as hosts see it (what {@code ComputeStream.backend()} returns). */
    ExecutionBackend api();

    BackendSettings settings();

    boolean isStopped();

    /** Delivers a transition to listeners (S8). Never throws, never blocks. */
    void publish(StreamTransition transition);

    /** The device is gone (S9): every stream is poisoned. Any thread; never throws. */
    void deviceLost(StreamError cause);

    /**
     * An error a stream captured reaches as far as {@code scope}: the one place S9 is triggered (a
     * device-scope error loses the device). Any thread; never throws.
     */
    default void reach(StreamError error, ErrorScope scope) {
        if (scope == ErrorScope.DEVICE) {
            deviceLost(error);
        }
    }

    /** The installed result checker, or null. */
    ResultChecker resultChecker();

    /** The backend's deferred-completion thread, started on first need; null once the backend stopped. */
    DeferredCompletion deferredCompletion();

    /** A batch settled somewhere: lets deferred completion look again. Never blocks. */
    void settled();

    /**
     * Rejects arrays larger than this backend could ever hold, on the caller's thread.
     *
     * @throws IllegalArgumentException naming the shape, its size and the limit
     */
    void checkCapacity(Shape shape, DType dtype);

    /** The injected fault rule that picks op {@code sequence} of the stream, or null. */
    FaultRule injectedFault(StreamId stream, String label, long sequence);

    /** The backend's memory budget (S12). */
    MemoryBudget memory();

    /** The stream closed: the backend forgets it. */
    void closed(Stream stream);
}
