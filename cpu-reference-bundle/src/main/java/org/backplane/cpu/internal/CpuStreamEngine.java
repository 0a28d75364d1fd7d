package org.backplane.cpu.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.LinkedBlockingQueue;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.fault.FaultRule;
import org.backplane.cpu.internal.kernels.Cancel;
import org.backplane.cpu.internal.kernels.Kernels;
import org.backplane.spi.BackplaneArray;
import org.backplane.spi.Command;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.Op;
import org.backplane.spi.StreamCore;
import org.backplane.spi.StreamEngine;

/**
 * One CPU stream: a serial queue run by its own worker thread, like MLX's per-stream thread. Every
 * failure on the worker (an {@link OutOfMemoryError} while allocating an output, an exception in a
 * kernel, an injected fault) is reported through the SPI exactly as a GPU completion callback would
 * report it; the worker itself never dies of it.
 */
final class CpuStreamEngine implements StreamEngine {
    private static final System.Logger LOG = System.getLogger(CpuStreamEngine.class.getName());
    private static final Object STOP = new Object();

    private final StreamCore stream;
    private final Kernels kernels;
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Thread worker;
    private final Cancel cancel;
    private volatile CommandBatch running;
    private volatile StreamError abortError;

    CpuStreamEngine(StreamCore stream, Kernels kernels) {
        this.stream = stream;
        this.kernels = kernels;
        this.cancel = new Cancel(() -> {
            CommandBatch b = running;
            return b != null && !b.shouldRun();
        });
        this.worker = Thread.ofPlatform().daemon().name("backplane-cpu-stream-" + stream.id().number() + "-" + stream.label())
                .unstarted(this::work);
        worker.start();
    }

    @Override
    public void commit(CommandBatch batch) {
        queue.add(batch);
    }

    private void work() {
        for (;;) {
            Object next;
            try {
                next = queue.take();
            } catch (InterruptedException e) {
                continue; // only close() stops the worker, through STOP
            }
            if (next == STOP) {
                break;
            }
            CommandBatch batch = (CommandBatch) next;
            running = batch;
            try {
                execute(batch);
            } catch (Throwable t) {
                // execute reports every failure itself; this is the last line of defence for the worker
                stream.batchFailed(batch, stream.error(ErrorKind.INTERNAL).message("CPU worker failed: " + t).batch(batch).cause(t).build());
            } finally {
                running = null;
            }
        }
        // Anything still queued at close is work the stream will never run.
        Object left;
        while ((left = queue.poll()) != null) {
            if (left instanceof CommandBatch b) {
                stream.batchFailed(b, abortError != null ? abortError
                        : stream.error(ErrorKind.INTERNAL).message("the stream was closed before this work ran").batch(b).build());
            }
        }
    }

    private void execute(CommandBatch batch) {
        for (int i = 0; i < batch.size(); i++) {
            if (abortError != null) {
                stream.batchFailed(batch, abortError);
                return;
            }
            if (!batch.shouldRun()) {
                stream.batchDiscarded(batch); // its generation failed: nothing more runs for it (S4)
                return;
            }
            Command command = batch.command(i);
            try {
                FaultRule fault = command.injectedFault();
                boolean silentlyCorrupt = fault != null && fault.kind() == ErrorKind.VERIFICATION_MISMATCH;
                if (fault != null && !silentlyCorrupt) {
                    injectFault(batch, command, fault);
                    return;
                }
                StreamError upstream = stream.awaitInputs(command, cancel::isCancelled);
                if (upstream != null) {
                    stream.batchFailed(batch, upstream);
                    return;
                }
                cancel.check();
                command.output().storage(run(command));
                if (silentlyCorrupt) {
                    corrupt((float[]) command.output().storage());
                }
            } catch (OutOfMemoryError e) {
                stream.batchFailed(batch, stream.error(ErrorKind.OUT_OF_MEMORY).nativeText(e.toString())
                        .message("the Java heap could not hold the output (" + command.outputBytes() + " bytes)")
                        .command(command).batch(batch).cause(e).build());
                return;
            } catch (CancellationException e) {
                if (abortError != null) {
                    stream.batchFailed(batch, abortError);
                } else {
                    stream.batchDiscarded(batch); // abandoned because its generation failed
                }
                return;
            } catch (Throwable t) {
                stream.batchFailed(batch, stream.error(ErrorKind.HOST_EXCEPTION).nativeText(t.toString())
                        .message("kernel threw " + t.getClass().getName()).command(command).batch(batch).cause(t).build());
                return;
            }
        }
        stream.batchCompleted(batch);
    }

    private float[] run(Command c) {
        BackplaneArray out = c.output();
        return switch (c.op()) {
            case Op.Fill f -> kernels.fill(f.value(), out.shape(), cancel);
            case Op.Unary u -> kernels.unary(u.op(), data(c.input(0)), cancel);
            case Op.Binary b -> kernels.binary(b.op(), data(c.input(0)), c.input(0).shape(), data(c.input(1)), c.input(1).shape(),
                    out.shape(), cancel);
            case Op.Matmul m -> kernels.matmul(data(c.input(0)), c.input(0).shape(), data(c.input(1)), c.input(1).shape(),
                    out.shape(), cancel);
            case Op.Transpose t -> kernels.transpose(data(c.input(0)), c.input(0).shape(), t.axes(), out.shape(), cancel);
            case Op.Reduce r -> kernels.reduce(r.op(), data(c.input(0)), c.input(0).shape(), r.all(), r.axis(), out.shape(), cancel);
            case Op.Softmax s -> kernels.softmax(data(c.input(0)), c.input(0).shape(), cancel);
        };
    }

    private static float[] data(BackplaneArray a) {
        Object storage = a.storage();
        if (storage instanceof float[] f) {
            return f;
        }
        throw new IllegalStateException("input " + a + " has no data");
    }

    /** An injected silent corruption: a wrong first element, and the op reports success. */
    private static void corrupt(float[] out) {
        if (out.length > 0) {
            out[0] = Float.isFinite(out[0]) ? out[0] + 1 + Math.abs(out[0]) : 12345f;
        }
    }

    /** Realises an injected fault where real failures happen: on this worker, inside the op. */
    private void injectFault(CommandBatch batch, Command command, FaultRule rule) {
        String message = rule.message().isEmpty() ? "injected " + rule.kind() + " fault (rule: " + rule + ")" : rule.message();
        switch (rule.kind()) {
            case HOST_EXCEPTION -> throw new InjectedKernelException(message);
            case DEVICE_LOST -> {
                StreamError e = stream.error(ErrorKind.DEVICE_LOST).nativeCode(rule.nativeCode()).nativeText("injected")
                        .message(message).command(command).batch(batch).build();
                stream.batchFailed(batch, e);
                stream.backendCore().deviceLost(e);
            }
            default -> stream.batchFailed(batch, stream.error(rule.kind()).nativeCode(rule.nativeCode()).nativeText("injected")
                    .message(message).command(command).batch(batch).build());
        }
    }

    @Override
    public void upload(BackplaneArray target, MemorySegment source) {
        int n = Math.toIntExact(target.shape().size());
        float[] data = new float[n];
        MemorySegment.copy(source, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, data, 0, n);
        target.storage(data);
    }

    @Override
    public void download(BackplaneArray source, MemorySegment target) {
        float[] data = data(source);
        MemorySegment.copy(data, 0, target, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, data.length);
    }

    /** The worker drops batches of a failed generation by itself; there is no native queue to rebuild. */
    @Override
    public void rebuild(Duration timeout) {
    }

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
            LOG.log(System.Logger.Level.ERROR, () -> "worker of CPU stream " + stream.id() + " did not stop within " + timeout
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
