package org.backplane.cpu.internal;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.fault.FaultRule;
import org.backplane.cpu.internal.kernels.Cancel;
import org.backplane.spi.Command;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.EngineArray;
import org.backplane.spi.ErrorBuilder;
import org.backplane.spi.StreamEngine;
import org.backplane.spi.StreamSink;

/**
 * One CPU stream: a serial queue run by its own worker thread, like MLX's per-stream thread. Every
 * failure on the worker (an {@link OutOfMemoryError} while allocating an output, an exception in a
 * kernel, an injected fault) is reported to the sink exactly as a GPU completion callback would
 * report it; the worker itself never dies of it.
 */
final class CpuStreamEngine implements StreamEngine {
    private static final System.Logger LOG = System.getLogger(CpuStreamEngine.class.getName());
    private static final Object STOP = new Object();

    private final StreamSink sink;
    private final CpuOps lowering;
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Thread worker;
    /** The backend's count of live workers: this one counts from its start to its end. */
    private final AtomicInteger liveWorkers;

    private final Cancel cancel;
    private volatile CommandBatch running;
    private volatile StreamError abortError;

    CpuStreamEngine(StreamSink sink, CpuOps lowering, AtomicInteger liveWorkers) {
        this.sink = sink;
        this.lowering = lowering;
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
            }
        }
        // Anything still queued at close is work the stream will never run.
        Object left;
        while ((left = queue.poll()) != null) {
            if (left instanceof CommandBatch b) {
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
                HostData out = lowering.run(command, cancel);
                if (fault != null && fault.kind() == ErrorKind.VERIFICATION_MISMATCH) {
                    corrupt(out);
                }
                command.output().bind(out);
            } catch (OutOfMemoryError e) {
                sink.failed(
                        batch,
                        sink.error(ErrorKind.OUT_OF_MEMORY)
                                .nativeText(e.toString())
                                .message(
                                        "the Java heap could not hold the output (" + command.outputBytes() + " bytes)")
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
    private static void corrupt(HostData out) {
        switch (out.array()) {
            case float[] f when f.length > 0 -> f[0] = Float.isFinite(f[0]) ? f[0] + 1 + Math.abs(f[0]) : 12345f;
            case short[] s when s.length > 0 -> s[0] ^= 0x4000; // an exponent bit of either half type
            case int[] v when v.length > 0 -> v[0] = v[0] == 0 ? 12345 : -v[0] + 1;
            case long[] v when v.length > 0 -> v[0] = v[0] == 0 ? 12345 : -v[0] + 1;
            case byte[] v when v.length > 0 -> v[0] = (byte) (1 - v[0]);
            default -> {}
        }
    }

    @Override
    public void upload(EngineArray target, MemorySegment source) {
        target.bind(HostData.copyOf(source, target.dtype(), Math.toIntExact(target.size())));
    }

    @Override
    public void download(EngineArray source, MemorySegment target) {
        HostReads.storage(source).copyTo(target, Math.toIntExact(source.size()));
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

    /** Whether the worker thread has ended (for tests of S11). */
    boolean isTerminated() {
        return !worker.isAlive();
    }

    /** Thrown inside an op by an injected {@code HOST_EXCEPTION} fault. */
    static final class InjectedKernelException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InjectedKernelException(String message) {
            super(message);
        }
    }
}
