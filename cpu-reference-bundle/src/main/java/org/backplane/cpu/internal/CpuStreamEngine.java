package org.backplane.cpu.internal;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.fault.FaultRule;
import org.backplane.cpu.internal.kernels.Cancel;
import org.backplane.cpu.internal.kernels.F32;
import org.backplane.cpu.internal.memory.HostMemory;
import org.backplane.cpu.internal.memory.HostMemoryExhausted;
import org.backplane.cpu.internal.memory.NativeBuffer;
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
 * One CPU stream: a serial queue run by its own worker thread, like MLX's per-stream thread. As on a
 * GPU, an op's output is allocated (in native memory) when the op is encoded, and the buffers it
 * reads are held until its batch ends, so that closing an array never frees what queued work still
 * reads. Every failure on the worker (an exception in a kernel, memory for temporaries refused, an
 * injected fault) is reported to the sink exactly as a GPU completion callback would report it; the
 * worker itself never dies of it.
 */
final class CpuStreamEngine implements StreamEngine {
    private static final System.Logger LOG = System.getLogger(CpuStreamEngine.class.getName());
    private static final Object STOP = new Object();
    /** How often {@link #letGoSurely} tries while the heap is exhausted. */
    private static final int LET_GO_ATTEMPTS = 100_000;

    private final StreamSink sink;
    private final CpuOps lowering;
    private final HostMemory memory;
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Thread worker;
    /** The backend's count of live workers: this one counts from its start to its end. */
    private final AtomicInteger liveWorkers;

    private final Cancel cancel;
    private volatile CommandBatch running;
    private volatile StreamError abortError;

    CpuStreamEngine(StreamSink sink, CpuOps lowering, HostMemory memory, AtomicInteger liveWorkers) {
        this.sink = sink;
        this.lowering = lowering;
        this.memory = memory;
        this.liveWorkers = liveWorkers;
        this.cancel = new Cancel(() -> {
            CommandBatch b = running;
            return b != null && !b.shouldRun();
        });
        this.worker = Thread.ofPlatform()
                .daemon()
                .name("backplane-cpu-stream-" + sink.id().number() + "-" + sink.label())
                .unstarted(this::work);
        worker.start();
    }

    /** The buffers a batch's ops read and write, held from their encoding to the batch's end. */
    private static final class Held implements NativeBatch {
        final List<NativeBuffer> buffers = new ArrayList<>();
    }

    /** Allocates the op's output and holds it and its inputs' buffers until the batch ends. */
    @Override
    public void encode(CommandBatch batch, Command command) {
        Held held = batch.attachment(Held.class);
        if (held == null) {
            held = new Held();
            batch.attach(held);
        }
        for (EngineArray in : command.inputs()) {
            NativeBuffer b = in.storage(NativeBuffer.class);
            if (!b.use()) {
                throw new IllegalArgumentException("input " + in.shape() + " of " + in.stream() + " was closed");
            }
            held.buffers.add(b);
        }
        EngineArray out = command.output();
        NativeBuffer result = allocate(out, command);
        result.use(); // written by the op: kept until its batch ends, even if its array is closed before
        held.buffers.add(result);
        out.bind(result);
    }

    private NativeBuffer allocate(EngineArray array, Command command) {
        try {
            return memory.allocate(array.dtype(), array.size());
        } catch (HostMemoryExhausted e) {
            throw new EngineFailure(
                    sink.error(ErrorKind.OUT_OF_MEMORY)
                            .message(e.getMessage())
                            .command(command)
                            .build(),
                    ErrorScope.STREAM);
        }
    }

    /**
     * The batch ended (or will never run): lets go of its buffers. Allocates nothing (it runs where the heap may be exhausted), and
     * each buffer leaves the list once let go, so a retry after a failure lets go of each once.
     */
    private static void letGo(CommandBatch batch) {
        Held held = batch.attachment(Held.class);
        if (held != null) {
            List<NativeBuffer> buffers = held.buffers;
            for (int i = buffers.size() - 1; i >= 0; i--) {
                buffers.get(i).done();
                buffers.remove(i);
            }
        }
    }

    /**
     * {@link #letGo}, tried again while the heap is exhausted (it allocates nothing, but a failure
     * met there may be the collector's), a bounded number of times: a worker must never spin for
     * good. A buffer not let go is not lost: the reaper frees it once nothing reaches it.
     */
    private static void letGoSurely(CommandBatch batch) {
        for (int attempt = 0; ; attempt++) {
            try {
                letGo(batch);
                return;
            } catch (VirtualMachineError e) {
                if (attempt == LET_GO_ATTEMPTS) {
                    return;
                }
                Thread.onSpinWait();
            } catch (Throwable t) {
                return; // not a passing condition: trying again would fail the same way
            }
        }
    }

    @Override
    public void discarded(CommandBatch batch) {
        letGo(batch);
    }

    @Override
    public void commit(CommandBatch batch) {
        queue.add(batch);
    }

    /**
     * The worker's loop. Nothing ends it but {@code STOP} (S13): any {@link Throwable} — an
     * {@link OutOfMemoryError} while reporting a failure included — fails the batch it met through
     * {@link StreamSink#failedUnexpectedly}, which needs no allocation, and the loop goes on.
     */
    private void work() {
        liveWorkers.incrementAndGet();
        try {
            serve();
        } finally {
            liveWorkers.decrementAndGet();
        }
    }

    private void serve() {
        for (; ; ) {
            Object next;
            try {
                next = queue.take();
            } catch (InterruptedException e) {
                continue; // only close() stops the worker, through STOP
            } catch (Throwable t) {
                continue; // taking contends a lock whose queue node may not be allocatable: try again
            }
            if (next == STOP) {
                break;
            }
            CommandBatch batch = (CommandBatch) next;
            running = batch;
            try {
                execute(batch);
            } catch (Throwable t) {
                sink.failedUnexpectedly(batch, t); // execute reports its failures; this is the last line of defence
            } finally {
                running = null;
                letGoSurely(batch);
            }
        }
        // Anything still queued at close is work the stream will never run.
        Object left;
        while ((left = queue.poll()) != null) {
            if (left instanceof CommandBatch b) {
                letGoSurely(b);
                try {
                    sink.failed(
                            b,
                            abortError != null
                                    ? abortError
                                    : sink.error(ErrorKind.INTERNAL)
                                            .message("the stream was closed before this work ran")
                                            .batch(b)
                                            .build());
                } catch (Throwable t) {
                    sink.failedUnexpectedly(b, t);
                }
            }
        }
    }

    private void execute(CommandBatch batch) {
        for (int i = 0; i < batch.size(); i++) {
            if (abortError != null) {
                sink.failed(batch, abortError);
                return;
            }
            if (!batch.shouldRun()) {
                sink.discarded(batch); // its generation failed: nothing more runs for it (S4)
                return;
            }
            Command command = batch.command(i);
            try {
                FaultRule fault = command.injectedFault();
                if (fault != null && fault.kind() == ErrorKind.HOST_EXCEPTION) {
                    throw new InjectedKernelException(
                            ErrorBuilder.injectedMessage(fault)); // through the real catch below
                }
                if (sink.failInjected(batch, command)) {
                    return;
                }
                StreamError upstream = sink.awaitInputs(command, cancel::isCancelled);
                if (upstream != null) {
                    sink.failed(batch, upstream);
                    return;
                }
                cancel.check();
                try (Scratchpad pad = new Scratchpad(memory)) {
                    lowering.run(command, cancel, pad);
                }
                if (fault != null && fault.kind() == ErrorKind.VERIFICATION_MISMATCH) {
                    corrupt(command.output().storage(NativeBuffer.class));
                }
            } catch (OutOfMemoryError | HostMemoryExhausted e) {
                sink.failed(
                        batch,
                        sink.error(ErrorKind.OUT_OF_MEMORY)
                                .nativeText(e.toString())
                                .message("memory for the op's temporaries was refused (its output, "
                                        + command.outputBytes() + " bytes, was allocated when it was encoded)")
                                .command(command)
                                .batch(batch)
                                .cause(e)
                                .build());
                return;
            } catch (BadOpInputException e) {
                sink.failed(
                        batch,
                        sink.error(ErrorKind.INVALID_ARGUMENT)
                                .message(e.getMessage())
                                .command(command)
                                .batch(batch)
                                .build());
                return;
            } catch (CancellationException e) {
                if (abortError != null) {
                    sink.failed(batch, abortError);
                } else {
                    sink.discarded(batch); // abandoned because its generation failed
                }
                return;
            } catch (Throwable t) {
                sink.failed(
                        batch,
                        sink.error(ErrorKind.HOST_EXCEPTION)
                                .nativeText(t.toString())
                                .message("kernel threw " + t.getClass().getName())
                                .command(command)
                                .batch(batch)
                                .cause(t)
                                .build());
                return;
            }
        }
        sink.completed(batch);
    }

    /** An injected silent corruption: a wrong first element, and the op reports success. */
    private static void corrupt(NativeBuffer out) {
        if (out.elements() == 0) {
            return;
        }
        MemorySegment s = out.segment();
        switch (out.dtype()) {
            case FLOAT32 -> {
                float f = F32.get(s, 0);
                F32.set(s, 0, Float.isFinite(f) ? f + 1 + Math.abs(f) : 12345f);
            }
            case FLOAT16, BFLOAT16 -> {
                short v = s.get(java.lang.foreign.ValueLayout.JAVA_SHORT, 0);
                s.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 0, (short) (v ^ 0x4000)); // an exponent bit
            }
            case INT32 -> {
                int v = s.get(java.lang.foreign.ValueLayout.JAVA_INT, 0);
                s.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, v == 0 ? 12345 : -v + 1);
            }
            case INT64 -> {
                long v = s.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0);
                s.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, v == 0 ? 12345 : -v + 1);
            }
            case BOOL ->
                s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte)
                        (1 - s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0)));
        }
    }

    /** A host copy into a new array: native memory allocated and filled on the caller's thread. */
    @Override
    public void upload(EngineArray target, MemorySegment source) {
        NativeBuffer b;
        try {
            b = memory.allocate(target.dtype(), target.size());
        } catch (HostMemoryExhausted e) {
            throw new EngineFailure(
                    sink.error(ErrorKind.OUT_OF_MEMORY).message(e.getMessage()).build(), ErrorScope.STREAM);
        }
        HostStores.copyIn(source, b);
        target.bind(b);
    }

    /** A host copy out; the buffer is held for the copy, so a close racing it cannot free it under the copy. */
    @Override
    public void download(EngineArray source, MemorySegment target) {
        NativeBuffer b = source.storage(NativeBuffer.class);
        if (!b.use()) {
            throw new IllegalStateException("array " + source.shape() + " of " + source.stream() + " was closed");
        }
        try {
            long offset = source.layout().offset() * source.dtype().byteSize();
            MemorySegment.copy(b.segment(), offset, target, 0, target.byteSize());
        } finally {
            b.done();
        }
    }

    /** Its array was closed: the buffer goes once no queued op or copy uses it. */
    @Override
    public void release(EngineArray array) {
        if (array.hasStorage()) {
            array.storage(NativeBuffer.class).close();
        }
    }

    /** The worker drops batches of a failed generation by itself; there is no native queue to rebuild. */
    @Override
    public void rebuild(Duration timeout) {}

    @Override
    public void close(Duration timeout, StreamError abort) {
        if (abort != null) {
            abortError = abort;
            cancel.stop();
        }
        queue.add(STOP);
        try {
            worker.join(Math.max(1, timeout.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (worker.isAlive()) {
            LOG.log(
                    System.Logger.Level.ERROR,
                    () -> "worker of CPU stream " + sink.id() + " did not stop within " + timeout
                            + "; it is left to finish its current kernel");
        }
    }

    /** Thrown inside an op by an injected {@code HOST_EXCEPTION} fault. */
    static final class InjectedKernelException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InjectedKernelException(String message) {
            super(message);
        }
    }
}
