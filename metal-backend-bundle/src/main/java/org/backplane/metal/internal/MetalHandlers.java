package org.backplane.metal.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import org.backplane.spi.device.CompletionRegistry;

/**
 * Completion handlers of command buffers: blocks built in Java by Apple's Block ABI whose invoke
 * function is this instance's single FFM upcall stub, the pending handler's key being the block's
 * captured field. The upcall runs on Metal's own thread: it catches everything (S1).
 */
final class MetalHandlers {
    private static final System.Logger LOG = System.getLogger(MetalHandlers.class.getName());
    /** Block flags: the descriptor carries a type signature (Apple's Block ABI). */
    private static final int BLOCK_HAS_SIGNATURE = 1 << 30;
    /** Block layout: isa, flags, reserved, invoke, descriptor, then the captured key. */
    static final long BLOCK_SIZE = 40;

    private static final long BLOCK_KEY_OFFSET = 32;

    /** What one handler completes (a batch of a stream engine). */
    interface Handler {
        /** The command buffer has ended; inside an autorelease pool, on Metal's thread. */
        void completed();

        /** The handler itself failed: report the batch failed so that no waiter hangs. Never throws. */
        void failed(Throwable t);
    }

    private final ObjcRuntime rt;
    private final CompletionRegistry<Handler> registry = new CompletionRegistry<>();
    private final MemorySegment stub;
    private final MemorySegment descriptor;

    MetalHandlers(ObjcRuntime rt, Arena arena) {
        this.rt = rt;
        try {
            var target = MethodHandles.lookup()
                    .findVirtual(
                            MetalHandlers.class,
                            "onCompleted",
                            MethodType.methodType(void.class, MemorySegment.class, MemorySegment.class))
                    .bindTo(this);
            this.stub = Linker.nativeLinker().upcallStub(target, FunctionDescriptor.ofVoid(ADDRESS, ADDRESS), arena);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        // void (^)(id<MTLCommandBuffer>): the signature Metal's handlers have, in the runtime's type encoding
        MemorySegment signature = arena.allocateFrom("v16@?0@8");
        this.descriptor = arena.allocate(24, 8);
        descriptor.set(JAVA_LONG, 0, 0);
        descriptor.set(JAVA_LONG, 8, BLOCK_SIZE);
        descriptor.set(ADDRESS, 16, signature);
    }

    /**
     * Adds {@code handler} as the command buffer's completion handler. Metal copies the block
     * ({@code Block_copy}) before {@code addCompletedHandler:} returns, so the block itself lives only
     * for this call.
     */
    void add(MemorySegment commandBuffer, Handler handler) {
        long key = registry.expect(handler);
        try (Arena call = Arena.ofConfined()) {
            MemorySegment block = call.allocate(BLOCK_SIZE, 8);
            block.set(ADDRESS, 0, rt.stackBlockClass);
            block.set(JAVA_INT, 8, BLOCK_HAS_SIGNATURE);
            block.set(JAVA_INT, 12, 0);
            block.set(ADDRESS, 16, stub);
            block.set(ADDRESS, 24, descriptor);
            block.set(JAVA_LONG, BLOCK_KEY_OFFSET, key);
            rt.send(commandBuffer, "addCompletedHandler:", block);
        } catch (RuntimeException | Error e) {
            registry.forget(key);
            throw e;
        }
    }

    /** The upcall, on Metal's thread when a command buffer has ended. Never throws (S1). */
    @SuppressWarnings({"UnusedMethod", "UnusedVariable"
    }) // the stub's target, found by reflection; the block's signature
    private void onCompleted(MemorySegment block, MemorySegment commandBuffer) {
        long key;
        try {
            key = block.reinterpret(BLOCK_SIZE).get(JAVA_LONG, BLOCK_KEY_OFFSET);
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "Metal completion handler with an unreadable block; ignored", t);
            return;
        }
        registry.complete(
                key,
                h -> {
                    MemorySegment pool = rt.pushPool();
                    try {
                        h.completed();
                    } finally {
                        rt.popPool(pool);
                    }
                },
                (h, t) -> {
                    if (h != null) {
                        h.failed(t);
                    }
                    LOG.log(
                            System.Logger.Level.ERROR,
                            "Metal completion handler failed; the batch fails, the JVM goes on",
                            t);
                });
    }

    /** Waits until no handler is pending or running; only then may the stub's memory go. */
    boolean awaitQuiet(long deadlineNanos) {
        return registry.awaitQuiet(deadlineNanos);
    }

    int pending() {
        return registry.pending();
    }
}
