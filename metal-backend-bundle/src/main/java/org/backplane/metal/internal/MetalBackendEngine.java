package org.backplane.metal.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.spi.BackendEngine;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.StreamCore;
import org.backplane.spi.StreamEngine;

/**
 * The Metal backend's device level: the Objective-C runtime binding, the {@code MTLDevice}, the
 * kernels' library and pipeline states (compiled at first use, cached), the single upcall stub that
 * every command buffer's completion handler block invokes, and a thread that commits command
 * buffers whose inputs another stream is still computing. All of it belongs to this instance;
 * {@link #shutdown} releases it only when no handler can run any more (S11).
 */
public final class MetalBackendEngine implements BackendEngine {
    private static final System.Logger LOG = System.getLogger(MetalBackendEngine.class.getName());
    private static final String KERNELS = "backplane_kernels.metal";
    /** Block flags: the descriptor carries a type signature (Apple's Block ABI). */
    private static final int BLOCK_HAS_SIGNATURE = 1 << 30;
    /** Block layout: isa, flags, reserved, invoke, descriptor, then the captured key. */
    static final long BLOCK_SIZE = 40;
    private static final long BLOCK_KEY_OFFSET = 32;

    final ObjcRuntime rt;
    private final Arena arena = Arena.ofShared();
    final MemorySegment device;
    private final String name;
    private final long workingSet;
    private final long maxBufferLength;
    private final MemorySegment handlerStub;
    private final MemorySegment blockDescriptor;
    private final String source;
    private MemorySegment library = MemorySegment.NULL;
    private final Map<String, Pipeline> pipelines = new ConcurrentHashMap<>();
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong keys = new AtomicLong();
    private final AtomicInteger inHandler = new AtomicInteger();
    private final ReferenceQueue<MetalBuffer> unreachable = new ReferenceQueue<>();
    private final Set<BufferReference> tracked = ConcurrentHashMap.newKeySet();
    private final ConcurrentLinkedQueue<MemorySegment> toRelease = new ConcurrentLinkedQueue<>();
    private final LinkedBlockingQueue<Runnable> deferredCommits = new LinkedBlockingQueue<>();
    private final Thread committer;
    private volatile boolean stopping;

    /** A compiled kernel and the most threads one of its threadgroups may have. */
    record Pipeline(MemorySegment state, long maxThreads) {
    }

    private record Pending(MetalStreamEngine engine, CommandBatch batch, MemorySegment commandBuffer) {
    }

    /** Releases a buffer's {@code MTLBuffer} once the buffer (and so its array) is unreachable. */
    private static final class BufferReference extends PhantomReference<MetalBuffer> {
        final MemorySegment object;
        final java.util.concurrent.atomic.AtomicBoolean released;

        BufferReference(MetalBuffer buffer, ReferenceQueue<MetalBuffer> queue) {
            super(buffer, queue);
            this.object = buffer.object;
            this.released = buffer.released;
        }
    }

    /** A kernel library that did not compile: Metal's compiler text, unchanged. */
    static final class KernelCompileException extends RuntimeException {
        final long code;
        final String text;

        KernelCompileException(long code, String text) {
            super("the Metal kernels did not compile: " + text);
            this.code = code;
            this.text = text;
        }
    }

    /**
     * Opens the system's default Metal device.
     *
     * @throws IllegalStateException if a library does not load or there is no device
     */
    public MetalBackendEngine(MetalPlatform platform) {
        try {
            this.rt = new ObjcRuntime(platform);
            this.device = rt.newSystemDefaultDevice();
            MemorySegment pool = rt.pushPool();
            try {
                this.name = rt.string(rt.id(device, "name"));
                this.workingSet = rt.word(device, "recommendedMaxWorkingSetSize");
                this.maxBufferLength = rt.word(device, "maxBufferLength");
            } finally {
                rt.popPool(pool);
            }
            this.source = readKernels();
            MethodHandle target = MethodHandles.lookup().findVirtual(MetalBackendEngine.class, "onCompleted",
                    MethodType.methodType(void.class, MemorySegment.class, MemorySegment.class)).bindTo(this);
            this.handlerStub = Linker.nativeLinker().upcallStub(target, FunctionDescriptor.ofVoid(ADDRESS, ADDRESS), arena);
            // void (^)(id<MTLCommandBuffer>): the signature Metal's handlers have, in the runtime's type encoding
            MemorySegment signature = arena.allocateFrom("v16@?0@8");
            this.blockDescriptor = arena.allocate(24, 8);
            blockDescriptor.set(JAVA_LONG, 0, 0);
            blockDescriptor.set(JAVA_LONG, 8, BLOCK_SIZE);
            blockDescriptor.set(ADDRESS, 16, signature);
            this.committer = Thread.ofPlatform().name("backplane-metal-committer").daemon().unstarted(this::commitLoop);
            committer.start();
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        } catch (Throwable t) {
            arena.close();
            throw new IllegalStateException(t);
        }
    }

    private static String readKernels() {
        try (InputStream in = MetalBackendEngine.class.getResourceAsStream(KERNELS)) {
            if (in == null) {
                throw new IllegalStateException(KERNELS + " is missing from the bundle");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + KERNELS, e);
        }
    }

    // ------------------------------------------------------------------ kernels

    /**
     * The pipeline state of a kernel, compiling the kernels' source at first use (fast math off).
     * A compile failure is not cached: a later call (after the stream's reset) compiles again.
     * Call inside an autorelease pool.
     *
     * @throws KernelCompileException with Metal's compiler output
     */
    Pipeline pipeline(String kernel) {
        Pipeline p = pipelines.get(kernel);
        return p != null ? p : compile(kernel);
    }

    private synchronized Pipeline compile(String kernel) {
        Pipeline p = pipelines.get(kernel);
        if (p != null) {
            return p;
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment errorOut = call.allocate(ADDRESS);
            if (library.equals(MemorySegment.NULL)) {
                MemorySegment options = rt.id(rt.id(rt.cls("MTLCompileOptions"), "alloc"), "init");
                rt.sendBool(options, "setFastMathEnabled:", false); // IEEE semantics: NaN, -0, Java's max/min
                MemorySegment text = rt.newString(source, call);
                MemorySegment lib;
                try {
                    lib = rt.id(device, "newLibraryWithSource:options:error:", text, options, errorOut);
                } finally {
                    rt.release(text);
                    rt.release(options);
                }
                if (lib.equals(MemorySegment.NULL)) {
                    throw compileError(errorOut.get(ADDRESS, 0), "newLibraryWithSource returned nil");
                }
                library = lib;
            }
            MemorySegment fname = rt.newString(kernel, call);
            MemorySegment function = rt.id(library, "newFunctionWithName:", fname);
            rt.release(fname);
            if (function.equals(MemorySegment.NULL)) {
                throw new KernelCompileException(0, "the compiled library has no kernel " + kernel);
            }
            errorOut.set(ADDRESS, 0, MemorySegment.NULL);
            MemorySegment state = rt.id(device, "newComputePipelineStateWithFunction:error:", function, errorOut);
            rt.release(function);
            if (state.equals(MemorySegment.NULL)) {
                throw compileError(errorOut.get(ADDRESS, 0), "no pipeline state for " + kernel);
            }
            p = new Pipeline(state, rt.word(state, "maxTotalThreadsPerThreadgroup"));
            pipelines.put(kernel, p);
            return p;
        }
    }

    private KernelCompileException compileError(MemorySegment error, String fallback) {
        if (error.equals(MemorySegment.NULL)) {
            return new KernelCompileException(0, fallback);
        }
        return new KernelCompileException(rt.word(error, "code"), rt.string(rt.id(error, "localizedDescription")));
    }

    // ------------------------------------------------------------------ buffers

    /**
     * A new shared-storage buffer, or null when Metal returns nil (out of memory). Call inside an
     * autorelease pool, on a user thread.
     */
    MetalBuffer newBuffer(long bytes) {
        if (bytes == 0) {
            return MetalBuffer.EMPTY;
        }
        MemorySegment object = rt.id(device, "newBufferWithLength:options:", bytes, 0L /* shared storage */);
        if (object.equals(MemorySegment.NULL)) {
            return null;
        }
        MetalBuffer buffer = new MetalBuffer(object, rt.id(object, "contents").reinterpret(bytes), bytes);
        tracked.add(new BufferReference(buffer, unreachable));
        return buffer;
    }

    /** Releases a buffer now: command buffers that still use it hold their own reference. */
    void release(MetalBuffer buffer) {
        if (!buffer.isEmpty() && buffer.released.compareAndSet(false, true)) {
            toRelease.add(buffer.object);
        }
    }

    /** Releases what became unreachable or was closed; on user threads, never for a poisoned stream. */
    void drainReleases() {
        Reference<? extends MetalBuffer> ref;
        while ((ref = unreachable.poll()) != null) {
            BufferReference b = (BufferReference) ref;
            tracked.remove(b);
            if (b.released.compareAndSet(false, true)) {
                toRelease.add(b.object);
            }
        }
        MemorySegment object;
        while ((object = toRelease.poll()) != null) {
            rt.release(object);
        }
    }

    /** After an allocation failed: lets the GC find unreachable arrays and releases their buffers. */
    void reclaim() {
        System.gc();
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        drainReleases();
    }

    // ------------------------------------------------------------------ completion handlers

    /**
     * Registers the completion handler of a command buffer: a block whose invoke function is this
     * engine's upcall stub and whose captured field is the key of the pending batch. Metal copies
     * the block ({@code Block_copy}) before {@code addCompletedHandler:} returns, so the block
     * itself lives only for this call.
     */
    void addCompletedHandler(MetalStreamEngine engine, CommandBatch batch, MemorySegment commandBuffer) {
        long key = keys.incrementAndGet();
        pending.put(key, new Pending(engine, batch, commandBuffer));
        try (Arena call = Arena.ofConfined()) {
            MemorySegment block = call.allocate(BLOCK_SIZE, 8);
            block.set(ADDRESS, 0, rt.stackBlockClass);
            block.set(JAVA_INT, 8, BLOCK_HAS_SIGNATURE);
            block.set(JAVA_INT, 12, 0);
            block.set(ADDRESS, 16, handlerStub);
            block.set(ADDRESS, 24, blockDescriptor);
            block.set(JAVA_LONG, BLOCK_KEY_OFFSET, key);
            rt.send(commandBuffer, "addCompletedHandler:", block);
        } catch (RuntimeException | Error e) {
            pending.remove(key);
            throw e;
        }
    }

    /**
     * The upcall: Metal runs it on a thread of its own when a command buffer has ended. It never
     * throws (S1): an exception escaping here would end the JVM.
     */
    private void onCompleted(MemorySegment block, MemorySegment commandBuffer) {
        inHandler.incrementAndGet();
        Pending p = null;
        try {
            long key = block.reinterpret(BLOCK_SIZE).get(JAVA_LONG, BLOCK_KEY_OFFSET);
            p = pending.get(key);
            if (p != null) {
                MemorySegment pool = rt.pushPool();
                try {
                    p.engine().completed(p.batch(), p.commandBuffer());
                } finally {
                    rt.popPool(pool);
                    pending.remove(key); // only now may shutdown free the stub this thread runs in
                }
            }
        } catch (Throwable t) {
            handlerFailed(p, t);
        } finally {
            inHandler.decrementAndGet();
        }
    }

    /** The handler itself failed: the batch fails with that error so no waiter hangs; nothing escapes. */
    private void handlerFailed(Pending p, Throwable t) {
        try {
            if (p != null) {
                StreamCore core = p.engine().core();
                StreamError error = core.error(ErrorKind.INTERNAL).nativeText(t.toString())
                        .message("the command buffer's completion handler failed").batch(p.batch()).cause(t).build();
                core.batchFailed(p.batch(), error);
            }
            LOG.log(System.Logger.Level.ERROR, "Metal completion handler failed; the batch fails, the JVM goes on", t);
        } catch (Throwable ignored) {
            // nothing may escape into Metal's thread
        }
    }

    int pendingHandlers() {
        return pending.size();
    }

    // ------------------------------------------------------------------ commits that wait for other streams

    /** Commits an enqueued command buffer once its inputs from other streams are computed (off the caller's thread). */
    void commitLater(Runnable commit) {
        deferredCommits.add(commit);
    }

    private void commitLoop() {
        while (true) {
            Runnable r;
            try {
                r = deferredCommits.take();
            } catch (InterruptedException e) {
                if (stopping && deferredCommits.isEmpty()) {
                    return;
                }
                continue;
            }
            try {
                r.run();
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "deferred Metal commit failed", t);
            }
        }
    }

    boolean isStopping() {
        return stopping;
    }

    // ------------------------------------------------------------------ BackendEngine

    @Override
    public StreamEngine openStream(StreamCore stream) {
        return new MetalStreamEngine(this, stream);
    }

    @Override
    public String deviceLossAdvice() {
        return "Metal reported the GPU removed or this process's access to it revoked. Restart the Metal backend (a change of "
                + "its configuration, or bundle:restart org.backplane.metal) once the GPU is back; other backends keep running.";
    }

    @Override
    public void shutdown(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        stopping = true;
        committer.interrupt();
        try {
            committer.join(Math.max(1, timeout.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        while ((!pending.isEmpty() || inHandler.get() > 0) && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        if (!pending.isEmpty() || inHandler.get() > 0 || committer.isAlive()) {
            // A handler may still come: freeing the upcall stub now would crash the JVM. Leak instead.
            LOG.log(System.Logger.Level.ERROR, () -> pending.size() + " Metal completion handlers still pending at stop; the "
                    + "Metal backend's native memory is left allocated rather than risk a handler calling freed code");
            return;
        }
        MemorySegment pool = rt.pushPool();
        try {
            // Buffers of arrays still referenced stay: a caller may still read them (like the CUDA backend's memory).
            drainReleases();
            for (Pipeline p : pipelines.values()) {
                rt.release(p.state());
            }
            rt.release(library);
            rt.release(device);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "releasing Metal objects failed", e);
        } finally {
            rt.popPool(pool);
        }
        // The last handler has left Java code but may still be returning through the stub's few
        // instructions: give it a moment before the stub's memory goes.
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        arena.close();
    }

    public String name() {
        return name;
    }

    public long workingSet() {
        return workingSet;
    }

    public long maxBufferLength() {
        return maxBufferLength;
    }

    public Map<String, String> details() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("platform", rt.platform.describe());
        d.put("kernels", "MSL, compiled at first use with newLibraryWithSource (fast math off)");
        d.put("memory", "shared storage (unified memory)");
        d.put("max buffer", String.valueOf(maxBufferLength));
        return d;
    }
}
