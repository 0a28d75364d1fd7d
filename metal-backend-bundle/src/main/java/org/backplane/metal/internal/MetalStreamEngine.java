package org.backplane.metal.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.fault.FaultRule;
import org.backplane.spi.Command;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.EngineArray;
import org.backplane.spi.EngineFailure;
import org.backplane.spi.ErrorScope;
import org.backplane.spi.NativeBatch;
import org.backplane.spi.StreamEngine;
import org.backplane.spi.StreamSink;

/**
 * One Backplane stream on Metal: its own {@code MTLCommandQueue} (labelled with the stream's id).
 * A batch is one command buffer with one compute encoder (serial dispatch: each kernel sees the
 * previous one's writes) into which {@link MetalLowering} encodes each op. Committing adds the
 * completion handler, the upcall that reports the batch's end to the sink. Reset needs a new queue:
 * Metal fails every command buffer queued behind a failed one.
 */
final class MetalStreamEngine implements StreamEngine {
    private static final System.Logger LOG = System.getLogger(MetalStreamEngine.class.getName());

    private final ObjcRuntime rt;
    private final MemorySegment device;
    private final MetalMemory memory;
    private final MetalHandlers handlers;
    private final MetalCommitter committer;
    private final StreamSink sink;
    private final Arena arena = Arena.ofShared();
    private final MetalLowering lowering;
    private volatile MemorySegment queue;
    private final Object idle = new Object();
    private int inFlight;
    private final Set<CommandBatch> unended = ConcurrentHashMap.newKeySet();
    /**
     * Shared memory the {@code take} kernels report an out-of-range index in (16-byte slots: flag,
     * index), read by the completion handler. Allocated at the first {@code take}.
     */
    private MetalBuffer indexSlots;

    private int nextIndexSlot;
    /** The batch being encoded (under the encode lock). */
    private BatchState encoding;
    /** Scratch buffers of the op being encoded, released once it is encoded (bound, so retained). */
    private final List<MetalBuffer> encodingScratch = new ArrayList<>();

    private static final int INDEX_SLOTS = 4096;

    private record IndexCheck(int slot, Command command) {}

    /** A batch's command buffer and open encoder (both retained by us), and its ops that wait for other streams. */
    private static final class BatchState implements NativeBatch {
        MemorySegment commandBuffer;
        MemorySegment encoder;
        List<Command> waits;
        final List<IndexCheck> indexChecks = new ArrayList<>();
    }

    MetalStreamEngine(
            ObjcRuntime rt,
            MemorySegment device,
            MetalKernels kernels,
            MetalMemory memory,
            MetalHandlers handlers,
            MetalCommitter committer,
            StreamSink sink) {
        this.rt = rt;
        this.device = device;
        this.memory = memory;
        this.handlers = handlers;
        this.committer = committer;
        this.sink = sink;
        this.lowering = new MetalLowering(
                rt,
                kernels,
                this::scratch,
                new MetalLowering.IndexErrors() {
                    @Override
                    public MetalBuffer buffer() {
                        return indexSlots();
                    }

                    @Override
                    public int slotFor(Command take) {
                        return indexSlot(take);
                    }
                },
                arena);
        MemorySegment pool = rt.pushPool();
        try {
            this.queue = newQueue();
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        } finally {
            rt.popPool(pool);
        }
    }

    private MemorySegment newQueue() {
        MemorySegment q = rt.id(device, "newCommandQueue");
        if (q.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("newCommandQueue returned nil for " + sink.id());
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment label = rt.newString(sink.id().toString(), call);
            rt.send(q, "setLabel:", label);
            rt.release(label);
        }
        return q;
    }

    // ------------------------------------------------------------------ encode and commit

    @Override
    public void encode(CommandBatch batch, Command command) {
        MemorySegment pool = rt.pushPool();
        try {
            memory.drain();
            BatchState st = state(batch);
            for (int i = 0; i < command.inputCount(); i++) {
                EngineArray in = command.input(i);
                CommandBatch producer = in.producer();
                if (!in.stream().equals(sink.id()) && producer != null && !producer.isFinished()) {
                    if (st.waits == null) {
                        st.waits = new ArrayList<>();
                    }
                    st.waits.add(command);
                    break;
                }
            }
            EngineArray out = command.output();
            MetalBuffer buffer = allocate(out.byteSize(), command);
            out.bind(buffer);
            encoding = st;
            try {
                lowering.lower(st.encoder, command, buffer);
            } finally {
                encoding = null;
                encodingScratch.forEach(MetalBuffer::release);
                encodingScratch.clear();
            }
            FaultRule fault = command.injectedFault();
            if (fault != null && fault.kind() == ErrorKind.VERIFICATION_MISMATCH && out.size() > 0) {
                lowering.corrupt(st.encoder, out, buffer); // silent corruption, for result checking to find
            }
        } catch (MetalKernels.CompileException e) {
            throw new EngineFailure(
                    sink.error(ErrorKind.KERNEL_COMPILE)
                            .nativeCode(e.code)
                            .nativeText(e.text)
                            .message("the Metal kernels did not compile")
                            .command(command)
                            .build(),
                    ErrorScope.STREAM);
        } finally {
            rt.popPool(pool);
        }
    }

    /** The batch's command buffer and encoder, made with its first op. */
    private BatchState state(CommandBatch batch) {
        BatchState existing = batch.attachment(BatchState.class);
        if (existing != null) {
            return existing;
        }
        BatchState st = new BatchState();
        MemorySegment cb = rt.id(queue, "commandBuffer");
        if (cb.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("commandBuffer returned nil");
        }
        rt.retain(cb); // autoreleased: ours until its handler has run
        st.commandBuffer = cb;
        MemorySegment encoder = rt.id(cb, "computeCommandEncoder");
        if (encoder.equals(MemorySegment.NULL)) {
            rt.release(cb);
            throw new IllegalStateException("computeCommandEncoder returned nil");
        }
        rt.retain(encoder);
        st.encoder = encoder;
        batch.attach(st);
        return st;
    }

    /**
     * Scratch for an op being encoded. The command buffer keeps it alive once it is bound, so ours is
     * released when the op's encoding ends — not before: another stream's drain would free it while
     * this op is still being encoded (a crash in objc_msg_lookup, found with four worker streams).
     */
    private MetalBuffer scratch(long bytes, Command command) {
        MetalBuffer buffer = allocate(bytes, command);
        encodingScratch.add(buffer);
        return buffer;
    }

    private MetalBuffer indexSlots() {
        if (indexSlots == null) {
            indexSlots = allocate((long) INDEX_SLOTS * 16, null);
        }
        return indexSlots;
    }

    /** A cleared index slot for a {@code take} being encoded, checked when its batch completes. */
    private int indexSlot(Command take) {
        int slot = nextIndexSlot++ % INDEX_SLOTS;
        indexSlots().contents.asSlice(slot * 16L, 16).fill((byte) 0);
        encoding.indexChecks.add(new IndexCheck(slot, take));
        return slot;
    }

    private MetalBuffer allocate(long bytes, Command command) {
        MetalBuffer buffer = memory.allocate(bytes);
        if (buffer == null) {
            throw new EngineFailure(
                    sink.error(ErrorKind.OUT_OF_MEMORY)
                            .nativeText("newBufferWithLength:options: returned nil")
                            .message("Metal could not allocate " + bytes + " bytes"
                                    + (command == null ? "" : " for " + command.describe()))
                            .command(command)
                            .build(),
                    ErrorScope.STREAM);
        }
        return buffer;
    }

    @Override
    public void commit(CommandBatch batch) {
        BatchState st = batch.attachment(BatchState.class);
        MemorySegment pool = rt.pushPool();
        try {
            MemorySegment cb = st.commandBuffer;
            rt.send(st.encoder, "endEncoding");
            rt.release(st.encoder);
            st.encoder = MemorySegment.NULL;
            synchronized (idle) {
                inFlight++;
            }
            unended.add(batch);
            try {
                handlers.add(cb, new MetalHandlers.Handler() {
                    @Override
                    public void completed() {
                        MetalStreamEngine.this.completed(batch, cb);
                    }

                    @Override
                    public void failed(Throwable t) {
                        sink.failedUnexpectedly(batch, t);
                    }
                });
            } catch (RuntimeException | Error e) {
                ended(batch); // no handler will come for it; the SPI fails the batch
                throw e;
            }
            if (st.waits != null && !inputsSettled(st.waits)) {
                // Reserve the command buffer's place in the queue now; commit it once the inputs exist.
                rt.send(cb, "enqueue");
                committer.later(() -> commitAfterInputs(st));
            } else {
                rt.send(cb, "commit");
            }
        } finally {
            rt.popPool(pool);
        }
    }

    private static boolean inputsSettled(List<Command> commands) {
        for (Command c : commands) {
            for (int i = 0; i < c.inputCount(); i++) {
                CommandBatch producer = c.input(i).producer();
                if (producer != null && !producer.isFinished()) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * On the committer thread: waits for the inputs from other streams, then commits. A failed input
     * still commits (the queue must move on); the SPI then fails the batch with UPSTREAM_FAILURE (S6).
     */
    private void commitAfterInputs(BatchState st) {
        for (Command c : st.waits) {
            sink.awaitInputs(c, committer::isStopping);
        }
        MemorySegment pool = rt.pushPool();
        try {
            rt.send(st.commandBuffer, "commit");
        } finally {
            rt.popPool(pool);
        }
    }

    @Override
    public void discarded(CommandBatch batch) {
        BatchState st = batch.attachment(BatchState.class);
        if (st == null) {
            return;
        }
        MemorySegment pool = rt.pushPool();
        try {
            if (!st.encoder.equals(MemorySegment.NULL)) {
                rt.send(st.encoder, "endEncoding");
                rt.release(st.encoder);
                st.encoder = MemorySegment.NULL;
            }
            rt.release(st.commandBuffer); // never committed: Metal never runs it
        } finally {
            rt.popPool(pool);
        }
    }

    /**
     * The batch's completion handler, on Metal's thread (inside an autorelease pool): reads the
     * command buffer's status and error and reports the batch's end. Throws only on a status Metal
     * does not define; the handler registry turns that into the batch's failure.
     */
    private void completed(CommandBatch batch, MemorySegment commandBuffer) {
        try {
            long status = rt.word(commandBuffer, "status");
            if (status == MetalError.STATUS_ERROR) {
                MemorySegment error = rt.id(commandBuffer, "error");
                long code = error.equals(MemorySegment.NULL) ? 0 : rt.word(error, "code");
                String domain = error.equals(MemorySegment.NULL) ? "" : rt.string(rt.id(error, "domain"));
                String text = error.equals(MemorySegment.NULL)
                        ? "no NSError"
                        : rt.string(rt.id(error, "localizedDescription"));
                ErrorKind kind = MetalError.kind(code, text);
                StreamError e = sink.error(kind)
                        .nativeCode(code)
                        .nativeText(text)
                        .message(MetalError.name(code) + " (" + domain
                                + "): the GPU reported an error for this command buffer")
                        .batch(batch)
                        .build();
                sink.failed(batch, e, ErrorScope.of(kind));
            } else if (status != MetalError.STATUS_COMPLETED) {
                throw new IllegalStateException("the completion handler saw MTLCommandBufferStatus " + status
                        + ", which Metal does not define for a finished command buffer");
            } else if (!sink.failInjected(batch, f -> false) && !indexOutOfRange(batch)) {
                sink.completed(batch);
            }
        } finally {
            rt.release(commandBuffer);
            ended(batch);
        }
    }

    /** Whether a {@code take} of the batch found an index out of range, failing the batch if so. */
    private boolean indexOutOfRange(CommandBatch batch) {
        for (IndexCheck check : batch.attachment(BatchState.class).indexChecks) {
            MemorySegment slot = indexSlots.contents.asSlice(check.slot * 16L, 16);
            if (slot.get(java.lang.foreign.ValueLayout.JAVA_INT, 0) != 0) {
                long index = slot.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 4);
                sink.failed(
                        batch,
                        sink.error(ErrorKind.INVALID_ARGUMENT)
                                .message("take index " + index + " is out of range for " + check.command.describe()
                                        + " (found by the kernel; the output holds zeros there)")
                                .command(check.command)
                                .batch(batch)
                                .build());
                return true;
            }
        }
        return false;
    }

    /** The batch's handler has run (or never will): it no longer counts as in flight. */
    private void ended(CommandBatch batch) {
        unended.remove(batch);
        synchronized (idle) {
            inFlight--;
            idle.notifyAll();
        }
    }

    // ------------------------------------------------------------------ host copies

    @Override
    public void upload(EngineArray target, MemorySegment source) {
        MemorySegment pool = rt.pushPool();
        try {
            memory.drain();
            MetalBuffer buffer = allocate(target.byteSize(), null);
            if (!buffer.isEmpty()) {
                MemorySegment.copy(source, 0, buffer.contents, 0, buffer.bytes);
            }
            target.bind(buffer);
        } finally {
            rt.popPool(pool);
        }
    }

    /**
     * Shared storage: the array's bytes are read where the GPU wrote them. A row-major view (a
     * leading slice) reads only its own bytes from the start of the storage it shares.
     */
    @Override
    public void download(EngineArray source, MemorySegment target) {
        MetalBuffer buffer = MetalLowering.storage(source);
        long bytes = source.byteSize();
        if (bytes > 0) {
            MemorySegment.copy(buffer.contents, 0, target, 0, bytes);
        }
    }

    @Override
    public void release(EngineArray array) {
        if (array.hasStorage()) {
            array.storage(MetalBuffer.class).release();
        }
    }

    // ------------------------------------------------------------------ reset and close

    /** Waits (bounded) until every committed command buffer's handler has run; false if time ran out. */
    private boolean awaitIdle(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (idle) {
            while (inFlight > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    idle.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }
    }

    /** Reset: Metal fails everything behind a failed command buffer, so the stream gets a new queue. */
    @Override
    public void rebuild(Duration timeout) {
        if (!awaitIdle(timeout)) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    () -> "reset of " + sink.id() + ": command buffers still running after " + timeout
                            + "; their handlers will be ignored");
        }
        MemorySegment pool = rt.pushPool();
        try {
            MemorySegment old = queue;
            queue = newQueue();
            rt.release(old); // its command buffers keep it alive until they end
        } finally {
            rt.popPool(pool);
        }
    }

    @Override
    public void close(Duration timeout, StreamError abortError) {
        try {
            if (!awaitIdle(timeout) && abortError != null) {
                // Metal cannot cancel committed work: fail it now; its handlers, when they come, change nothing.
                for (CommandBatch b : unended) {
                    sink.failed(b, abortError);
                }
            }
            MemorySegment pool = rt.pushPool();
            try {
                rt.release(queue);
                if (indexSlots != null) {
                    indexSlots.release();
                }
                memory.drain();
            } finally {
                rt.popPool(pool);
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "closing the Metal queue of " + sink.id() + " failed", e);
        } finally {
            arena.close();
        }
    }
}
