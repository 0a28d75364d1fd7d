package org.backplane.cuda.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.fault.FaultRule;
import org.backplane.spi.Command;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.EngineArray;
import org.backplane.spi.EngineFailure;
import org.backplane.spi.ErrorBuilder;
import org.backplane.spi.ErrorScope;
import org.backplane.spi.NativeBatch;
import org.backplane.spi.StreamEngine;
import org.backplane.spi.StreamSink;

/**
 * One Backplane stream on a GPU: a non-blocking {@code CUstream} for its ops, a second one for host
 * copies, a third that carries the completion callbacks, and a cuBLAS handle. Ops are launched as
 * they are encoded ({@link CudaLowering}); committing a batch records an event (which consumers on
 * other streams wait for) and adds a stream callback, the upcall that reports the batch's end to the
 * sink. CUDA's error codes and texts reach the sink unchanged; sticky codes lose the device (S9).
 */
final class CudaStreamEngine implements StreamEngine {
    private static final System.Logger LOG = System.getLogger(CudaStreamEngine.class.getName());
    /** Host copies up to this size read or write the Java heap directly (they briefly pause the GC). */
    private static final long HEAP_COPY_MAX = 1L << 20;

    private static final long STAGING_CHUNK = 32L << 20;
    /** How long a waiting thread polls its batch's event before leaving the news to the callback. */
    private static final long EXPEDITE_NANOS = 2_000_000;

    /** Slots (16 bytes each) where {@code take} kernels report an out-of-range index. */
    private static final int INDEX_SLOTS = 4096;

    private static final int CU_MEMHOSTALLOC_DEVICEMAP = 0x02;

    private final CudaDevice dev;
    private final CudaMemory memory;
    private final CudaCallbacks callbacks;
    private final StreamSink sink;
    private final Arena arena = Arena.ofShared();
    private final Launcher launcher;
    private final CudaLowering lowering;
    private final MemorySegment scratch;
    private volatile MemorySegment stream;
    private final MemorySegment copyStream;
    /**
     * Carries the completion callbacks: it waits for each batch's event and then runs the callback,
     * so the (blocking) callback never stalls the compute stream behind it.
     */
    private final MemorySegment notifyStream;
    /** Downloads of a closed stream's arrays still work (their memory lives on); they use the default stream. */
    private final ReentrantReadWriteLock copyLock = new ReentrantReadWriteLock();

    private boolean closed;
    private final MemorySegment cublasHandle;
    private final ArrayDeque<MemorySegment> events = new ArrayDeque<>();
    private final ConcurrentLinkedQueue<MemorySegment> retiredEvents = new ConcurrentLinkedQueue<>();
    /**
     * Mapped page-locked host memory the {@code take} kernels write their out-of-range index into
     * (unified addressing: the same address on host and device), read when their batch has ended.
     */
    private final MemorySegment indexSlots;

    private long nextIndexSlot;
    /** The batch being encoded (under the encode lock), which owns the scratch and index slots its ops take. */
    private BatchResources encoding;

    /**
     * What a batch holds on the device: the event its commit records (consumers on other streams wait
     * for it) and the buffers its ops use, which a closed array's memory waits for before it is freed.
     */
    private static final class BatchResources implements NativeBatch {
        final MemorySegment event;
        final List<DeviceBuffer> used = new ArrayList<>();
        /** The {@code take} commands of the batch and their index slots. */
        final List<IndexCheck> indexChecks = new ArrayList<>();
        /** Whether the commit recorded the event (before, querying it would say "done" at once). */
        volatile boolean recorded;
        /** Set once, by whichever learns first of the batch's end: its callback or a waiter polling the event. */
        final java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();

        BatchResources(MemorySegment event) {
            this.event = event;
        }
    }

    private record IndexCheck(MemorySegment slot, Command command) {}

    CudaStreamEngine(CudaDevice dev, CudaMemory memory, CudaCallbacks callbacks, StreamSink sink) {
        this.dev = dev;
        this.memory = memory;
        this.callbacks = callbacks;
        this.sink = sink;
        this.launcher = new Launcher(arena);
        this.scratch = arena.allocate(JAVA_LONG, 2);
        dev.makeCurrent();
        this.stream = createStream();
        this.copyStream = createStream();
        this.notifyStream = createStream();
        if (dev.cublas != null) {
            MemorySegment h = arena.allocate(ADDRESS);
            Cublas.check(CudaDevice.invoke(() -> (int) dev.cublas.create.invokeExact(h)), "cublasCreate");
            this.cublasHandle = h.get(ADDRESS, 0);
            MemorySegment s = stream;
            Cublas.check(
                    CudaDevice.invoke(() -> (int) dev.cublas.setStream.invokeExact(cublasHandle, s)),
                    "cublasSetStream");
            int mode = dev.tf32 ? Cublas.TF32_TENSOR_OP_MATH : Cublas.DEFAULT_MATH;
            Cublas.check(
                    CudaDevice.invoke(() -> (int) dev.cublas.setMathMode.invokeExact(cublasHandle, mode)),
                    "cublasSetMathMode");
        } else {
            this.cublasHandle = null;
        }
        MemorySegment slots = arena.allocate(ADDRESS);
        dev.check(
                CudaDevice.invoke(() -> (int) dev.driver.cuMemHostAlloc.invokeExact(
                        slots, (long) INDEX_SLOTS * 16, CU_MEMHOSTALLOC_DEVICEMAP)),
                "cuMemHostAlloc");
        this.indexSlots = slots.get(ADDRESS, 0).reinterpret((long) INDEX_SLOTS * 16);
        // scratch (the pointer slot) is used under the encode lock only
        this.lowering = new CudaLowering(dev, launcher, cublasHandle, this::scratch, this::indexSlot, arena);
    }

    /** Scratch for an op being encoded: freed when its batch has ended, like a closed array. */
    private DeviceBuffer scratch(long bytes, MemorySegment on) {
        DeviceBuffer buffer = memory.allocate(bytes, on, scratch);
        uses(encoding, buffer);
        buffer.close();
        return buffer;
    }

    /** A cleared index slot for a {@code take} being encoded, checked when its batch ends. */
    private long indexSlot(Command take) {
        MemorySegment slot = indexSlots.asSlice((nextIndexSlot++ % INDEX_SLOTS) * 16, 16);
        slot.fill((byte) 0);
        encoding.indexChecks.add(new IndexCheck(slot, take));
        return slot.address();
    }

    private MemorySegment createStream() {
        MemorySegment out = arena.allocate(ADDRESS);
        dev.check(
                CudaDevice.invoke(
                        () -> (int) dev.driver.cuStreamCreate.invokeExact(out, Driver.CU_STREAM_NON_BLOCKING)),
                "cuStreamCreate");
        return out.get(ADDRESS, 0);
    }

    // ------------------------------------------------------------------ encode and commit

    @Override
    public void encode(CommandBatch batch, Command command) {
        try {
            dev.makeCurrent();
            MemorySegment s = stream;
            memory.drain(s);
            BatchResources resources = batch.attachment(BatchResources.class);
            if (resources == null) {
                resources = new BatchResources(takeEvent());
                batch.attach(resources);
            }
            for (int i = 0; i < command.inputCount(); i++) {
                waitFor(command.input(i), s);
            }
            FaultRule fault = command.injectedFault();
            if (fault != null && dev.realFaults && fault.kind() == ErrorKind.PAGE_FAULT) {
                lowering.illegalAddress(s); // a real illegal-address fault
            }
            EngineArray out = command.output();
            DeviceBuffer buffer = memory.allocate(out.byteSize(), s, scratch);
            out.bind(buffer);
            encoding = resources;
            try {
                lowering.lower(command, buffer.pointer, s);
            } finally {
                encoding = null;
            }
            if (fault != null && fault.kind() == ErrorKind.VERIFICATION_MISMATCH && out.size() > 0) {
                lowering.corrupt(out, buffer.pointer, s);
            }
            uses(resources, buffer);
            for (int i = 0; i < command.inputCount(); i++) {
                uses(resources, command.input(i).storage(DeviceBuffer.class));
            }
        } catch (CudaCallException e) {
            if (CudaError.isBadInput(e.code)) {
                throw new IllegalArgumentException("the GPU refused " + command.describe() + ": " + e.getMessage(), e);
            }
            throw failure(
                    e.code,
                    cudaError(e.code, e.text)
                            .message(e.getMessage())
                            .command(command)
                            .build());
        }
    }

    /** An error record carrying CUDA's own code and text, of the kind the contract gives that code. */
    private ErrorBuilder cudaError(int code, String text) {
        return sink.error(CudaError.kind(code)).nativeCode(code).nativeText(text);
    }

    /** A sticky code corrupted the context: every stream on the device is poisoned (S9). */
    private static ErrorScope scope(int code) {
        return CudaError.isSticky(code) ? ErrorScope.DEVICE : ErrorScope.STREAM;
    }

    private static EngineFailure failure(int code, StreamError error) {
        return new EngineFailure(error, scope(code));
    }

    private static void uses(BatchResources resources, DeviceBuffer buffer) {
        if (buffer.pointer != 0) {
            buffer.use();
            resources.used.add(buffer);
        }
    }

    /** The batch's ops have ended (either way): buffers of closed arrays that nothing else uses can go. */
    private boolean ended(BatchResources resources) {
        if (!resources.ended.compareAndSet(false, true)) {
            return false; // already ended: the other of callback and waiter got there first
        }
        for (DeviceBuffer b : resources.used) {
            if (b.done()) {
                b.free();
            }
        }
        retiredEvents.add(resources.event);
        return true;
    }

    @Override
    public void commit(CommandBatch batch) {
        dev.makeCurrent();
        BatchResources resources = batch.attachment(BatchResources.class);
        MemorySegment event = resources.event;
        MemorySegment s = stream;
        int r = CudaDevice.invoke(() -> (int) dev.driver.cuEventRecord.invokeExact(event, s));
        if (r != 0) {
            fail(batch, r, "cuEventRecord");
            return;
        }
        resources.recorded = true;
        MemorySegment n = notifyStream;
        r = CudaDevice.invoke(() -> (int) dev.driver.cuStreamWaitEvent.invokeExact(n, event, 0));
        if (r != 0) {
            fail(batch, r, "cuStreamWaitEvent");
            return;
        }
        long key = callbacks.expect(new CudaCallbacks.Completion() {
            @Override
            public void completed(int status) {
                CudaStreamEngine.this.completed(batch, status);
            }

            @Override
            public void failed(Throwable t) {
                sink.failedUnexpectedly(batch, t);
            }
        });
        MemorySegment stub = callbacks.stub();
        MemorySegment userData = MemorySegment.ofAddress(key);
        r = CudaDevice.invoke(() -> (int) dev.driver.cuStreamAddCallback.invokeExact(n, stub, userData, 0));
        if (r != 0) {
            callbacks.forget(key);
            fail(batch, r, "cuStreamAddCallback");
        }
    }

    @Override
    public void discarded(CommandBatch batch) {
        BatchResources resources = batch.attachment(BatchResources.class);
        if (resources != null) {
            ended(resources);
        }
    }

    private void fail(CommandBatch batch, int code, String what) {
        ended(batch.attachment(BatchResources.class));
        sink.failed(
                batch,
                cudaError(code, dev.describe(code))
                        .message(what + " failed")
                        .batch(batch)
                        .build(),
                scope(code));
    }

    /**
     * The batch's stream callback, on a driver thread: no CUDA call may be made here (error texts come
     * from the table read at start). Reports the batch's end, realising injected faults where a real
     * one would surface.
     */
    private void completed(CommandBatch batch, int status) {
        if (!ended(batch.attachment(BatchResources.class))) {
            return;
        }
        if (status != 0) {
            sink.failed(
                    batch,
                    cudaError(status, dev.describe(status))
                            .message("the GPU reported an error for this command buffer")
                            .batch(batch)
                            .build(),
                    scope(status));
            return;
        }
        if (sink.failInjected(batch, f -> dev.realFaults && f.kind() == ErrorKind.PAGE_FAULT)) {
            return;
        }
        for (IndexCheck check : batch.attachment(BatchResources.class).indexChecks) {
            if (check.slot.get(JAVA_LONG, 0) != 0) {
                long index = check.slot.get(JAVA_LONG, 8);
                sink.failed(
                        batch,
                        sink.error(ErrorKind.INVALID_ARGUMENT)
                                .message("take index " + index + " is out of range for " + check.command.describe()
                                        + " (found by the kernel; the output holds zeros there)")
                                .command(check.command)
                                .batch(batch)
                                .build());
                return;
            }
        }
        sink.completed(batch);
    }

    /**
     * A thread waits for the batch: poll its event for up to {@link #EXPEDITE_NANOS} and, if the
     * GPU is done, report the end from here, sooner than the callback (which then finds it ended).
     * Errors are left to the callback, which sees the stream's status.
     */
    @Override
    public void expediteCompletion(CommandBatch batch) {
        BatchResources resources = batch.attachment(BatchResources.class);
        if (resources == null || !resources.recorded || resources.ended.get()) {
            return;
        }
        if (!copyLock.readLock().tryLock()) {
            return; // closing: the events are about to go
        }
        try {
            if (closed) {
                return;
            }
            MemorySegment event = resources.event;
            long deadline = System.nanoTime() + EXPEDITE_NANOS;
            while (!resources.ended.get()) {
                int q = CudaDevice.invoke(() -> (int) dev.driver.cuEventQuery.invokeExact(event));
                if (q == 0) {
                    completed(batch, 0);
                    return;
                }
                if (q != CudaError.NOT_READY || System.nanoTime() > deadline) {
                    return;
                }
                Thread.onSpinWait();
            }
        } finally {
            copyLock.readLock().unlock();
        }
    }

    private MemorySegment takeEvent() {
        MemorySegment e;
        while ((e = retiredEvents.poll()) != null) {
            events.push(e);
        }
        e = events.poll();
        if (e != null) {
            return e;
        }
        MemorySegment out = arena.allocate(ADDRESS);
        dev.check(
                CudaDevice.invoke(
                        () -> (int) dev.driver.cuEventCreate.invokeExact(out, Driver.CU_EVENT_DISABLE_TIMING)),
                "cuEventCreate");
        return out.get(ADDRESS, 0);
    }

    /** Makes this stream wait for an input that another stream is still producing. */
    private void waitFor(EngineArray input, MemorySegment s) {
        CommandBatch producer = input.producer();
        if (input.stream().equals(sink.id()) || producer == null || producer.isFinished()) {
            return;
        }
        BatchResources resources = producer.attachment(BatchResources.class);
        if (resources == null) {
            return;
        }
        MemorySegment event = resources.event;
        dev.check(
                CudaDevice.invoke(() -> (int) dev.driver.cuStreamWaitEvent.invokeExact(s, event, 0)),
                "cuStreamWaitEvent");
    }

    // ------------------------------------------------------------------ host copies

    @Override
    public void upload(EngineArray target, MemorySegment source) {
        dev.makeCurrent();
        long bytes = target.byteSize();
        DeviceBuffer buffer;
        try (Arena call = Arena.ofConfined()) {
            memory.drain(copyStream);
            buffer = memory.allocate(bytes, copyStream, call.allocate(JAVA_LONG));
            if (bytes > 0) {
                copyIn(buffer.pointer, source, bytes);
            }
            synchronize(copyStream, "upload");
        } catch (CudaCallException e) {
            throw failure(
                    e.code,
                    cudaError(e.code, e.text)
                            .message("upload of " + target.shape() + " failed: " + e.getMessage())
                            .build());
        }
        target.bind(buffer);
    }

    private void copyIn(long dst, MemorySegment src, long bytes) {
        MemorySegment s = copyStream;
        if (src.isNative()) {
            dev.check(
                    CudaDevice.invoke(() -> (int) dev.driver.cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, s)),
                    "cuMemcpyHtoDAsync");
        } else if (bytes <= HEAP_COPY_MAX) {
            dev.check(
                    CudaDevice.invoke(() -> (int) dev.driver.cuMemcpyHtoDAsyncHeap.invokeExact(dst, src, bytes, s)),
                    "cuMemcpyHtoDAsync");
        } else {
            try (Arena staging = Arena.ofConfined()) {
                MemorySegment buf = staging.allocate(Math.min(bytes, STAGING_CHUNK), 64);
                for (long off = 0; off < bytes; off += buf.byteSize()) {
                    long len = Math.min(buf.byteSize(), bytes - off);
                    MemorySegment.copy(src, off, buf, 0, len);
                    long d = dst + off;
                    dev.check(
                            CudaDevice.invoke(() -> (int) dev.driver.cuMemcpyHtoDAsync.invokeExact(d, buf, len, s)),
                            "cuMemcpyHtoDAsync");
                    synchronize(s, "upload");
                }
            }
        }
    }

    @Override
    public void download(EngineArray source, MemorySegment target) {
        long bytes = source.byteSize();
        if (bytes == 0) {
            return;
        }
        long src = CudaLowering.ptr(source);
        copyLock.readLock().lock();
        try {
            MemorySegment s = closed ? MemorySegment.NULL : copyStream;
            dev.makeCurrent();
            if (target.isNative()) {
                dev.check(
                        CudaDevice.invoke(() -> (int) dev.driver.cuMemcpyDtoHAsync.invokeExact(target, src, bytes, s)),
                        "cuMemcpyDtoHAsync");
                synchronize(s, "download");
            } else if (bytes <= HEAP_COPY_MAX) {
                dev.check(
                        CudaDevice.invoke(
                                () -> (int) dev.driver.cuMemcpyDtoHAsyncHeap.invokeExact(target, src, bytes, s)),
                        "cuMemcpyDtoHAsync");
                synchronize(s, "download");
            } else {
                try (Arena staging = Arena.ofConfined()) {
                    MemorySegment buf = staging.allocate(Math.min(bytes, STAGING_CHUNK), 64);
                    for (long off = 0; off < bytes; off += buf.byteSize()) {
                        long len = Math.min(buf.byteSize(), bytes - off);
                        long sp = src + off;
                        dev.check(
                                CudaDevice.invoke(
                                        () -> (int) dev.driver.cuMemcpyDtoHAsync.invokeExact(buf, sp, len, s)),
                                "cuMemcpyDtoHAsync");
                        synchronize(s, "download");
                        MemorySegment.copy(buf, 0, target, off, len);
                    }
                }
            }
        } catch (CudaCallException e) {
            throw failure(
                    e.code,
                    cudaError(e.code, e.text)
                            .message("download of " + source.shape() + " failed: " + e.getMessage())
                            .build());
        } finally {
            copyLock.readLock().unlock();
        }
    }

    private void synchronize(MemorySegment s, String what) {
        dev.check(
                CudaDevice.invoke(() -> (int) dev.driver.cuStreamSynchronize.invokeExact(s)),
                "cuStreamSynchronize (" + what + ")");
    }

    // ------------------------------------------------------------------ release, reset, close

    /** Frees the array's memory as soon as no queued op on any stream uses it any more. */
    @Override
    public void release(EngineArray array) {
        if (array.hasStorage()) {
            DeviceBuffer buffer = array.storage(DeviceBuffer.class);
            if (buffer.pointer != 0 && buffer.close()) {
                buffer.free();
            }
        }
    }

    /** Waits (bounded) for the stream to drain: 0 when it did, NOT_READY when it did not in time, or the stream's error. */
    private int awaitIdle(MemorySegment s, long deadline) {
        for (; ; ) {
            int r = CudaDevice.invoke(() -> (int) dev.driver.cuStreamQuery.invokeExact(s));
            if (r != CudaError.NOT_READY || System.nanoTime() > deadline) {
                return r;
            }
            Thread.onSpinWait();
        }
    }

    /** Waits for this stream's work and callbacks; logs why not when it cannot. */
    private void drain(String what, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (MemorySegment s : new MemorySegment[] {stream, copyStream, notifyStream}) {
            int r = awaitIdle(s, deadline);
            if (r == CudaError.NOT_READY) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        () -> what + " " + sink.id() + ": GPU work still running after " + timeout
                                + "; it is released when it finishes and its callbacks are ignored");
                return;
            }
            if (r != 0) {
                LOG.log(
                        System.Logger.Level.DEBUG,
                        () -> what + " " + sink.id() + ": the context reports " + dev.describe(r));
                return;
            }
        }
    }

    /**
     * Reset: the failed generation's work is left to finish (its callbacks still arrive and are
     * ignored), the stream is destroyed (CUDA frees it when its work is done) and a new one made.
     */
    @Override
    public void rebuild(Duration timeout) {
        dev.makeCurrent();
        MemorySegment old = stream;
        drain("reset of", timeout);
        CudaDevice.invoke(() -> (int) dev.driver.cuStreamDestroy.invokeExact(old));
        MemorySegment fresh = createStream();
        stream = fresh;
        if (cublasHandle != null) {
            Cublas.check(
                    CudaDevice.invoke(() -> (int) dev.cublas.setStream.invokeExact(cublasHandle, fresh)),
                    "cublasSetStream");
        }
    }

    @Override
    public void close(Duration timeout, StreamError abortError) {
        try {
            dev.makeCurrent();
            drain("closing", timeout);
            MemorySegment s = stream;
            CudaDevice.invoke(() -> (int) dev.driver.cuStreamDestroy.invokeExact(s));
            CudaDevice.invoke(() -> (int) dev.driver.cuStreamDestroy.invokeExact(notifyStream));
            copyLock.writeLock().lock();
            try {
                closed = true;
                CudaDevice.invoke(() -> (int) dev.driver.cuStreamDestroy.invokeExact(copyStream));
            } finally {
                copyLock.writeLock().unlock();
            }
            if (cublasHandle != null) {
                CudaDevice.invoke(() -> (int) dev.cublas.destroy.invokeExact(cublasHandle));
            }
            events.addAll(retiredEvents);
            for (MemorySegment e : events) {
                CudaDevice.invoke(() -> (int) dev.driver.cuEventDestroy.invokeExact(e));
            }
            MemorySegment slots = indexSlots;
            CudaDevice.invoke(() -> (int) dev.driver.cuMemFreeHost.invokeExact(slots));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "closing the CUDA stream of " + sink.id() + " failed", e);
        } finally {
            arena.close();
        }
    }
}
