package org.backplane.cuda.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import org.backplane.spi.device.CompletionRegistry;

/**
 * The single upcall stub every stream's {@code cuStreamAddCallback} calls, and the work its calls
 * complete. The callback runs on a driver thread that the JVM attaches: it catches everything (S1)
 * and makes no CUDA call.
 */
final class CudaCallbacks {
    private static final System.Logger LOG = System.getLogger(CudaCallbacks.class.getName());

    /** What one callback completes (a batch of a stream engine). */
    interface Completion {
        /** The batch's work ended with {@code status} (a CUresult). */
        void completed(int status);

        /** The completion itself failed: report the batch failed so that no waiter hangs. Never throws. */
        void failed(Throwable t);
    }

    private final CompletionRegistry<Completion> registry = new CompletionRegistry<>();
    private final MemorySegment stub;

    CudaCallbacks(CudaDevice dev) {
        try {
            var target = MethodHandles.lookup()
                    .findVirtual(
                            CudaCallbacks.class,
                            "onCallback",
                            MethodType.methodType(void.class, MemorySegment.class, int.class, MemorySegment.class))
                    .bindTo(this);
            this.stub = Linker.nativeLinker()
                    .upcallStub(target, FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, ADDRESS), dev.arena);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The stub to pass to {@code cuStreamAddCallback}. */
    MemorySegment stub() {
        return stub;
    }

    /** Registers a completion; returns the key to pass as the callback's user data. */
    long expect(Completion completion) {
        return registry.expect(completion);
    }

    /** The callback was not registered with the driver after all. */
    void forget(long key) {
        registry.forget(key);
    }

    /** Waits until no callback is pending or running; only then may the stub's arena close. */
    boolean awaitQuiet(long deadlineNanos) {
        return registry.awaitQuiet(deadlineNanos);
    }

    int pending() {
        return registry.pending();
    }

    /** The upcall: on a driver thread, for every committed batch. Never throws (S1). */
    @SuppressWarnings({"UnusedMethod", "UnusedVariable"}) // the stub's target, found by reflection; CUDA's signature
    private void onCallback(MemorySegment stream, int status, MemorySegment userData) {
        registry.complete(userData.address(), c -> c.completed(status), (c, t) -> {
            if (c != null) {
                c.failed(t);
            }
            LOG.log(System.Logger.Level.ERROR, "CUDA completion callback failed; the batch fails, the JVM goes on", t);
        });
    }
}
