package org.backplane.spi;

import java.lang.foreign.MemorySegment;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.StaleGenerationException;
import org.backplane.api.StreamClosedException;
import org.backplane.api.StreamError;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamId;
import org.backplane.api.StreamInterruptedException;
import org.backplane.api.StreamPoisonedException;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.StreamState;
import org.backplane.api.StreamTransition;
import org.backplane.api.UnaryOp;
import org.backplane.api.BinaryOp;
import org.backplane.api.fault.FaultRule;
import org.backplane.api.fault.Hold;

/**
 * A stream as the SPI implements it: the error slot and state machine (S1–S4), failure propagation
 * into arrays (S6), reset (S7), transitions for observers (S8), close, and command batching with
 * back-pressure. Backends never subclass it; they plug in a {@link StreamEngine}.
 *
 * <p><b>Healthy path.</b> The error check on every user call is two volatile reads (the current
 * generation and its state): no lock, no allocation. Encoding an op takes the stream's encode lock,
 * which orders concurrent submitters; that lock is never taken on a driver thread.
 *
 * <p><b>Driver threads.</b> {@link #batchCompleted}, {@link #batchFailed} and {@link #raise}
 * catch every {@code Throwable}, take no lock, and only unpark waiters (S1).
 */
public final class StreamCore implements ComputeStream {
    private static final System.Logger LOG = System.getLogger(StreamCore.class.getName());

    private final BackendCore backend;
    private final StreamId id;
    private final String label;
    private final Instant createdAt = Instant.now();
    private final BatchPolicy policy;
    private final FaultPlan faults;
    StreamEngine engine;

    private volatile Generation current;
    private final ReentrantLock encodeLock = new ReentrantLock();
    /** A test's hold (guarded by encodeLock): committed batches wait in {@link #held} until it is released. */
    private StreamHold hold;
    private final ArrayDeque<CommandBatch> held = new ArrayDeque<>();
    private final ReentrantLock lifecycleLock = new ReentrantLock();
    /** The batch ops are being added to; guarded by encodeLock. */
    private CommandBatch open;
    /** Guarded by encodeLock. */
    private long nextSequence = 1;
    /** Guarded by encodeLock. */
    private long nextBatchId = 1;

    private final AtomicLong opsSubmitted = new AtomicLong();
    private final AtomicLong opsCompleted = new AtomicLong();
    private final AtomicLong opsFailed = new AtomicLong();
    final Waiters waiters = new Waiters();

    StreamCore(BackendCore backend, StreamId id, String label, BatchPolicy policy, FaultPlan faults) {
        this.backend = backend;
        this.id = id;
        this.label = label;
        this.policy = policy;
        this.faults = faults;
        this.current = new Generation(1, 0);
    }

    /** Connects the engine; called once by the backend before the stream is published. */
    void attach(StreamEngine streamEngine) {
        this.engine = Objects.requireNonNull(streamEngine, "engine");
    }

    // ------------------------------------------------------------------ identity and observation

    @Override
    public StreamId id() {
        return id;
    }

    @Override
    public String label() {
        return label;
    }

    @Override
    public ExecutionBackend backend() {
        return backend;
    }

    /** The SPI view of the backend. */
    public BackendCore backendCore() {
        return backend;
    }

    Generation currentGeneration() {
        return current;
    }

    /** For tests of the lock-free entry check. */
    java.util.concurrent.locks.Lock encodeLockForTest() {
        return encodeLock;
    }

    /** The current generation's number (1 until the first reset). */
    public long generation() {
        return current.number;
    }

    @Override
    public StreamSnapshot snapshot() {
        Generation g = current;
        return new StreamSnapshot(id, label, Generation.publicState(g.state), g.number, g.first, g.suppressedCount.get(),
                g.suppressedErrors(), opsSubmitted.get(), opsCompleted.get(), opsFailed.get(), createdAt, g.stateSince);
    }

    @Override
    public String toString() {
        Generation g = current;
        return "ComputeStream[" + id + " '" + label + "', " + Generation.publicState(g.state) + ", gen " + g.number + "]";
    }

    // ------------------------------------------------------------------ entry checks (S3, S4)

    /**
     * The error check of every user call: returns the current generation if it is healthy, else
     * throws the report (once) or the refusal. Hot path: two volatile reads.
     */
    Generation enter() {
        Generation g = current;
        if (g.state == Generation.ACTIVE) {
            return g;
        }
        return enterSlow();
    }

    private Generation enterSlow() {
        for (;;) {
            Generation g = current;
            if (g.state == Generation.ACTIVE) {
                return g;
            }
            RuntimeException refused = refusal(g);
            if (!(refused instanceof StaleGenerationException)) {
                throw refused;
            }
            // a reset replaced the generation meanwhile: look at the new one
        }
    }

    private StreamClosedException closed(Generation g, StreamError workError) {
        boolean stopped = backend.isStopped();
        String reason = stopped ? "its backend '" + backend.id() + "' was stopped" : "it was closed";
        StreamError kind = workError;
        if (kind == null && g.first != null && g.first.kind() == ErrorKind.BACKEND_STOPPED) {
            kind = g.first;
        }
        if (kind == null && stopped) {
            // Closed by the stop with nothing of its own in flight (or opened while the stop ran):
            // the caller still learns that it was the stop, as a BACKEND_STOPPED error.
            kind = error(ErrorKind.BACKEND_STOPPED).message("backend '" + backend.id() + "' was stopped").build();
        }
        return new StreamClosedException(id, "Stream " + id + " '" + label + "' is closed: " + reason
                + (workError != null ? "; the awaited work failed: " + workError.describe() : "")
                + ". Open a new stream.", kind);
    }

    // ------------------------------------------------------------------ capture (S1, S2)

    /**
     * Records an error in {@code g}'s slot. Never throws, never blocks (S1). The first error of a
     * generation wins; later ones are counted (S2). Returns whether this error was the first.
     */
    boolean capture(Generation g, StreamError error) {
        try {
            if (!g.offerError(error)) {
                return false;
            }
            if (g.casState(Generation.ACTIVE, Generation.FAILED)) {
                backend.publish(StreamTransition.Type.FAILED, StreamState.ACTIVE, this, error);
            }
            waiters.signalAll();
            return true;
        } catch (Throwable t) {
            safeLog(t);
            return false;
        }
    }

    /**
     * Captures an error that is not tied to a committed batch (a driver notification, an injected
     * fault) into the current generation. Any thread; never throws (S1).
     */
    public boolean raise(StreamError error) {
        try {
            return capture(current, error);
        } catch (Throwable t) {
            safeLog(t);
            return false;
        }
    }

    /**
     * The engine finished a batch. Any thread; never throws, never blocks (S1). If the generation
     * failed meanwhile, the batch's outputs count as failed: they were in flight when the stream
     * failed (S6).
     */
    public void batchCompleted(CommandBatch batch) {
        try {
            Generation g = batch.generation;
            StreamError failedBefore = g.first;
            if (failedBefore == null
                    && (batch.toVerify > 0 || g.verifying.get() > 0 || !foreignInputsSettled(batch))) {
                DeferredCompletion deferred = backend.deferredCompletion();
                if (deferred != null) {
                    // Released later, in this stream's order: after its check, or once its inputs
                    // from other streams are known good (S6).
                    g.verifying.incrementAndGet();
                    deferred.enqueue(batch);
                    return;
                }
            }
            StreamError upstream = upstreamFailure(batch);
            if (upstream != null) {
                batchFailed(batch, upstream);
                return;
            }
            finish(batch, failedBefore == null ? CommandBatch.DONE : CommandBatch.FAILED, failedBefore);
        } catch (Throwable t) {
            safeLog(t);
        }
    }

    /** Whether every input of the batch's ops that comes from another stream has settled. */
    boolean foreignInputsSettled(CommandBatch batch) {
        for (int k = 0, n = batch.size(); k < n; k++) {
            Command c = batch.command(k);
            for (int i = 0; i < c.inputCount(); i++) {
                BackplaneArray in = c.input(i);
                if (in.stream != this && !in.isSettled()) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * On the deferred-completion thread, once the batch's foreign inputs have settled: fails it if
     * one of them is unusable (S6), checks its sampled ops, then releases it or fails it with
     * {@link ErrorKind#VERIFICATION_MISMATCH}.
     */
    void checkAndFinish(CommandBatch batch, ResultChecker checker) {
        Generation g = batch.generation;
        try {
            StreamError upstream = upstreamFailure(batch);
            if (upstream != null) {
                batchFailed(batch, upstream);
                return;
            }
            String mismatch = null;
            Command bad = null;
            if (checker != null && g.first == null) {
                for (int i = 0; i < batch.size() && mismatch == null; i++) {
                    Command c = batch.command(i);
                    if (c.verify) {
                        mismatch = check(checker, c);
                        bad = c;
                    }
                }
            }
            if (mismatch != null) {
                batchFailed(batch, error(ErrorKind.VERIFICATION_MISMATCH).message(mismatch).command(bad).batch(batch).build());
            } else {
                StreamError failedBefore = g.first;
                finish(batch, failedBefore == null ? CommandBatch.DONE : CommandBatch.FAILED, failedBefore);
            }
        } finally {
            g.verifying.decrementAndGet();
            waiters.signalAll();
        }
    }

    /** Runs the checker on host copies of an op's data; a checker that fails checks nothing. */
    private String check(ResultChecker checker, Command c) {
        try {
            float[][] inputs = new float[c.inputCount()][];
            for (int i = 0; i < inputs.length; i++) {
                inputs[i] = hostCopy(c.input(i));
                if (inputs[i] == null) {
                    return null;
                }
            }
            float[] output = hostCopy(c.output());
            return output == null ? null : checker.check(c, inputs, output);
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.WARNING, "result checker failed on " + c + "; the op is not checked", t);
            return null;
        }
    }

    /** The array's data on the host, read through its own stream's engine; null if too large. */
    private static float[] hostCopy(BackplaneArray a) {
        if (a.shape().size() > BackplaneArray.MAX_JAVA_ARRAY) {
            return null;
        }
        float[] data = new float[(int) a.shape().size()];
        a.stream.engine.download(a, MemorySegment.ofArray(data));
        return data;
    }

    /**
     * The engine's work for a batch failed. Captures the error into the batch's generation (S1, S2)
     * and fails the batch. Any thread; never throws, never blocks (S1).
     */
    public void batchFailed(CommandBatch batch, StreamError error) {
        try {
            capture(batch.generation, error);
            finish(batch, CommandBatch.FAILED, error);
        } catch (Throwable t) {
            safeLog(t);
        }
    }

    /**
     * For engines that realise injected faults once a batch's work has ended (GPU engines, in their
     * completion callback): fails the batch with its first injected fault, unless it is a silent
     * corruption (which the engine writes into the output) or {@code realisedNatively} says the
     * engine made it happen for real. An injected {@code DEVICE_LOST} also loses the device (S9).
     * Returns whether the batch failed. Any thread; never throws (S1).
     */
    public boolean failInjected(CommandBatch batch, Predicate<FaultRule> realisedNatively) {
        try {
            for (int i = 0; i < batch.size(); i++) {
                Command c = batch.command(i);
                FaultRule f = c.injectedFault();
                if (f == null || f.kind() == ErrorKind.VERIFICATION_MISMATCH || realisedNatively.test(f)) {
                    continue;
                }
                String message = f.message().isEmpty() ? "injected " + f.kind() + " fault (rule: " + f + ")" : f.message();
                StreamError error = error(f.kind()).nativeCode(f.nativeCode()).nativeText("injected").message(message).command(c)
                        .batch(batch).build();
                batchFailed(batch, error);
                if (f.kind() == ErrorKind.DEVICE_LOST) {
                    backend.deviceLost(error);
                }
                return true;
            }
            return false;
        } catch (Throwable t) {
            safeLog(t);
            return false;
        }
    }

    /**
     * The engine did not run a batch because {@link CommandBatch#shouldRun()} was false: its
     * generation failed or was replaced. The batch fails with that generation's error; never
     * reported as data (S6). Any thread; never throws (S1).
     */
    public void batchDiscarded(CommandBatch batch) {
        try {
            StreamError cause = batch.generation.first;
            if (cause == null) {
                batchFailed(batch, error(ErrorKind.INTERNAL).message("the engine discarded work of a healthy generation")
                        .batch(batch).build());
            } else {
                finish(batch, CommandBatch.FAILED, cause);
            }
        } catch (Throwable t) {
            safeLog(t);
        }
    }

    /** Ends a committed batch exactly once; a second report of the same batch changes nothing. */
    private void finish(CommandBatch batch, int status, StreamError error) {
        if (!batch.casStatus(CommandBatch.COMMITTED, status)) {
            return;
        }
        Generation g = batch.generation;
        if (status == CommandBatch.DONE) {
            long last = batch.lastSequence();
            if (last > g.completedSequence) {
                g.completedSequence = last;
            }
            opsCompleted.addAndGet(batch.size());
        } else {
            batch.error = error;
            opsFailed.addAndGet(batch.size());
        }
        batch.release();
        g.unfinished.remove(batch);
        g.inFlight.decrementAndGet();
        waiters.signalAll();
        backend.settled();
    }

    /** Fails the batches of {@code g} that its engine never reported (after a close or reset). */
    private void failUnreported(Generation g, StreamError error) {
        for (CommandBatch b : g.unfinished) {
            LOG.log(System.Logger.Level.WARNING, () -> "engine of " + id + " never reported " + b.describe() + "; failing it");
            finish(b, CommandBatch.FAILED, error);
        }
    }

    /** For a batch reported complete: an upstream failure of one of its foreign inputs, if any. */
    private StreamError upstreamFailure(CommandBatch batch) {
        for (int k = 0, n = batch.size(); k < n; k++) {
            Command c = batch.command(k);
            for (int i = 0; i < c.inputCount(); i++) {
                BackplaneArray in = c.input(i);
                if (in.stream != this && in.isSettled()) {
                    StreamError cause = in.unusableBecause();
                    if (cause != null) {
                        return upstreamError(c, batch, in, cause);
                    }
                }
            }
        }
        return null;
    }

    private StreamError upstreamError(Command c, CommandBatch batch, BackplaneArray in, StreamError cause) {
        return error(ErrorKind.UPSTREAM_FAILURE)
                .message("input " + in.shape() + " from stream " + in.stream.id() + " is unusable: " + cause.describe())
                .command(c).batch(batch).upstream(cause).build();
    }

    private static void safeLog(Throwable t) {
        try {
            LOG.log(System.Logger.Level.ERROR, "Backplane failed while capturing a stream error; continuing", t);
        } catch (Throwable ignored) {
            // nothing more can be done without risking the calling (driver) thread
        }
    }

    // ------------------------------------------------------------------ errors for engines

    /** Starts an error record for this stream; engines fill in the native code and the failed op. */
    public ErrorBuilder error(ErrorKind kind) {
        return new ErrorBuilder(this, kind);
    }

    StreamError syntheticError(ErrorKind kind, String message, StreamError upstream) {
        return error(kind).message(message).upstream(upstream).build();
    }

    /**
     * For an engine about to execute {@code command}: waits for inputs that come from other streams
     * and returns the error that makes one of them unusable (S6), or null when all hold valid data.
     * Stops waiting early, returning null, when {@code abandon} becomes true.
     */
    public StreamError awaitInputs(Command command, BooleanSupplier abandon) {
        for (int i = 0; i < command.inputCount(); i++) {
            BackplaneArray in = command.input(i);
            if (in.stream == this) {
                continue; // same stream: earlier in the same serial queue
            }
            in.stream.waiters.awaitUninterruptibly(() -> in.isSettled() || abandon.getAsBoolean());
            if (!in.isSettled()) {
                return null;
            }
            StreamError cause = in.unusableBecause();
            if (cause != null) {
                return upstreamError(command, null, in, cause);
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ arrays from host data

    @Override
    public DeviceArray upload(float[] data, int... shape) {
        Objects.requireNonNull(data, "data must not be null");
        return uploadSegment(MemorySegment.ofArray(data), data.length, shape);
    }

    @Override
    public DeviceArray upload(FloatBuffer data, int... shape) {
        Objects.requireNonNull(data, "data must not be null");
        return uploadSegment(MemorySegment.ofBuffer(data), data.remaining(), shape);
    }

    @Override
    public DeviceArray upload(MemorySegment data, int... shape) {
        Objects.requireNonNull(data, "data must not be null");
        if (data.byteSize() % Float.BYTES != 0) {
            throw new IllegalArgumentException("segment of " + data.byteSize() + " bytes does not hold whole float32 values");
        }
        return uploadSegment(data, data.byteSize() / Float.BYTES, shape);
    }

    private DeviceArray uploadSegment(MemorySegment data, long elements, int[] dims) {
        Shape shape = Shape.of(dims);
        if (elements != shape.size()) {
            throw new IllegalArgumentException("data holds " + elements + " floats but shape " + shape + " needs " + shape.size());
        }
        backend.checkCapacity(shape);
        Generation g = enter();
        BackplaneArray out = new BackplaneArray(this, g, shape, null);
        engine.upload(out, data);
        return out;
    }

    @Override
    public DeviceArray full(float value, int... shape) {
        return submit(new Op.Fill(value), Shape.of(shape));
    }

    // ------------------------------------------------------------------ ops

    @Override
    public DeviceArray unary(UnaryOp op, DeviceArray x) {
        Objects.requireNonNull(op, "op must not be null");
        BackplaneArray a = input(x, "x");
        return submit(new Op.Unary(op), a.shape(), a);
    }

    @Override
    public DeviceArray binary(BinaryOp op, DeviceArray a, DeviceArray b) {
        Objects.requireNonNull(op, "op must not be null");
        BackplaneArray x = input(a, "a");
        BackplaneArray y = input(b, "b");
        return submit(new Op.Binary(op), Shapes.broadcast(x.shape(), y.shape()), x, y);
    }

    @Override
    public DeviceArray matmul(DeviceArray a, DeviceArray b) {
        BackplaneArray x = input(a, "a");
        BackplaneArray y = input(b, "b");
        return submit(new Op.Matmul(), Shapes.matmul(x.shape(), y.shape()), x, y);
    }

    @Override
    public DeviceArray transpose(DeviceArray x) {
        BackplaneArray a = input(x, "x");
        int[] perm = Shapes.permutation(a.shape(), null);
        return submit(new Op.Transpose(perm), Shapes.permute(a.shape(), perm), a);
    }

    @Override
    public DeviceArray transpose(DeviceArray x, int... axes) {
        BackplaneArray a = input(x, "x");
        Objects.requireNonNull(axes, "axes must not be null");
        int[] perm = Shapes.permutation(a.shape(), axes);
        return submit(new Op.Transpose(perm), Shapes.permute(a.shape(), perm), a);
    }

    @Override
    public DeviceArray reduce(ReduceOp op, DeviceArray x) {
        Objects.requireNonNull(op, "op must not be null");
        BackplaneArray a = input(x, "x");
        return submit(new Op.Reduce(op, true, 0), Shapes.reduceAll(op, a.shape()), a);
    }

    @Override
    public DeviceArray reduce(ReduceOp op, DeviceArray x, int axis) {
        Objects.requireNonNull(op, "op must not be null");
        BackplaneArray a = input(x, "x");
        Shape out = Shapes.reduce(op, a.shape(), axis);
        return submit(new Op.Reduce(op, false, a.shape().normalizeAxis(axis)), out, a);
    }

    @Override
    public DeviceArray softmax(DeviceArray x) {
        BackplaneArray a = input(x, "x");
        return submit(new Op.Softmax(), Shapes.softmax(a.shape()), a);
    }

    /** Checks an input argument on the caller's thread: bad input fails here and poisons nothing. */
    private BackplaneArray input(DeviceArray array, String name) {
        if (array == null) {
            throw new NullPointerException("input '" + name + "' must not be null");
        }
        if (!(array instanceof BackplaneArray a) || a.stream.backend != backend) {
            throw new IllegalArgumentException("input '" + name + "' belongs to another backend (" + array.stream().backend().id()
                    + " instance) than stream " + id + "; copy it with download/upload first");
        }
        if (a.isClosed()) {
            throw new IllegalArgumentException("input '" + name + "' " + a.shape() + " was closed");
        }
        return a;
    }

    /** Queues one op: the caller-thread half of every op. */
    private BackplaneArray submit(Op op, Shape outShape, BackplaneArray... inputs) {
        backend.checkCapacity(outShape);
        for (BackplaneArray in : inputs) {
            if (in.stream != this) {
                in.stream.commitIfOpen(in.producer); // so our worker never waits on a batch nobody commits
            }
        }
        enter();
        encodeLock.lock();
        try {
            Generation g = current;
            if (g.state != Generation.ACTIVE) {
                g = enterSlow(); // re-check under the lock (S4)
            }
            for (BackplaneArray in : inputs) {
                Generation ig = in.stream.current;
                if (in.generation != ig) {
                    throw new StaleGenerationException(in.stream.id, "Input array " + in.shape(), in.generation.number, ig.number,
                            in.generation.first);
                }
            }
            long sequence = nextSequence;
            CommandBatch batch = open;
            if (batch == null) {
                batch = new CommandBatch(this, g, nextBatchId++);
                open = batch;
            }
            BackplaneArray out = new BackplaneArray(this, g, outShape, batch);
            FaultRule fault = faults == null ? null : faults.match(this, sequence);
            Command command = new Command(sequence, op, inputs, out, fault);
            ResultChecker checker = backend.resultChecker();
            if (checker != null && sampled(checker, command)) {
                command.verify = true;
                batch.toVerify++;
            }
            encode(g, batch, command);
            nextSequence = sequence + 1;
            batch.add(command);
            opsSubmitted.incrementAndGet();
            if (batch.size() >= policy.maxOps() || batch.bytes() >= policy.maxBytes()) {
                commitOpenLocked();
            }
            return out;
        } finally {
            encodeLock.unlock();
        }
    }

    /**
     * Lets the engine encode the op. An {@link IllegalArgumentException} is the device refusing bad
     * input: it reaches the caller and poisons nothing. Any other failure is captured (S1) and
     * reported to the caller at once (S3).
     */
    private void encode(Generation g, CommandBatch batch, Command command) {
        try {
            engine.encode(batch, command);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) {
            capture(g, error(ErrorKind.INTERNAL).message("encoding failed: " + e).command(command).cause(e).build());
            enterSlow();
        }
    }

    private static boolean sampled(ResultChecker checker, Command command) {
        try {
            return checker.wants(command);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "result checker failed to sample " + command, e);
            return false;
        }
    }

    // ------------------------------------------------------------------ batching

    /** Commits the open batch if it is {@code batch}; used when another stream consumes its output. */
    void commitIfOpen(CommandBatch batch) {
        if (batch == null || batch.status != CommandBatch.OPEN) {
            return;
        }
        encodeLock.lock();
        try {
            if (open == batch) {
                commitOpenLocked();
            }
        } finally {
            encodeLock.unlock();
        }
    }

    /** Commits the open batch; returns the sequence number of the last op submitted so far. */
    private long flushAndGetLast() {
        encodeLock.lock();
        try {
            commitOpenLocked();
            return nextSequence - 1;
        } finally {
            encodeLock.unlock();
        }
    }

    private void commitOpenLocked() {
        CommandBatch batch = open;
        if (batch == null) {
            return;
        }
        open = null;
        if (batch.size() == 0) {
            batch.status = CommandBatch.DONE;
            return;
        }
        Generation g = batch.generation;
        // Back-pressure: a bounded number of batches in flight per stream (not while a test holds
        // the stream: only releasing the hold could end the wait, and that needs this lock).
        waiters.awaitUninterruptibly(() -> g.inFlight.get() < policy.maxInFlight() || g.state != Generation.ACTIVE || hold != null);
        if (g.state != Generation.ACTIVE || g != current) {
            discard(batch, g); // S4: nothing reaches the engine once the stream failed
            return;
        }
        g.inFlight.incrementAndGet();
        g.unfinished.add(batch);
        batch.status = CommandBatch.COMMITTED;
        if (hold != null) {
            held.add(batch);
            return;
        }
        commitToEngine(batch);
    }

    private void commitToEngine(CommandBatch batch) {
        try {
            engine.commit(batch);
        } catch (Throwable t) {
            batchFailed(batch, error(ErrorKind.INTERNAL).message("the engine failed to commit the batch: " + t)
                    .batch(batch).cause(t).build());
        }
    }

    private void discard(CommandBatch batch, Generation g) {
        batch.error = g.first;
        batch.status = CommandBatch.FAILED;
        opsFailed.addAndGet(batch.size());
        tellEngineDiscarded(batch);
        batch.release();
        waiters.signalAll();
    }

    // ------------------------------------------------------------------ waiting and reading

    @Override
    public void eval(DeviceArray... arrays) {
        Objects.requireNonNull(arrays, "arrays must not be null");
        BackplaneArray[] own = new BackplaneArray[arrays.length];
        for (int i = 0; i < arrays.length; i++) {
            DeviceArray a = Objects.requireNonNull(arrays[i], "array " + i + " must not be null");
            if (!(a instanceof BackplaneArray b) || b.stream != this) {
                throw new IllegalArgumentException("array " + i + " belongs to stream " + a.stream().id() + ", not " + id
                        + "; call eval on its own stream");
            }
            own[i] = b;
        }
        Generation g = enter();
        for (BackplaneArray a : own) {
            checkCurrent(a, g);
        }
        flushAndGetLast();
        for (BackplaneArray a : own) {
            awaitArray(a);
            finishAwait(a.generation, a.producer, "eval");
        }
    }

    @Override
    public void flush() {
        enter();
        flushAndGetLast();
    }

    @Override
    public void synchronize() {
        Generation g = enter();
        long target = flushAndGetLast();
        if (!waiters.await(() -> g.completedSequence >= target || g.first != null || current != g
                || g.isClosingOrClosed() && g.inFlight.get() == 0)) {
            throw new StreamInterruptedException(id, "synchronize");
        }
        finishAwait(g, null, "synchronize");
    }

    /** Reads an array's data into {@code target} after its producing work ended (user thread). */
    void read(BackplaneArray a, MemorySegment target) {
        if (a.isClosed()) {
            throw new IllegalStateException("array " + a.shape() + " of stream " + id + " was closed");
        }
        Generation g = current;
        if (g.state != Generation.ACTIVE && !(g.isClosingOrClosed() && a.generation == g)) {
            enterSlow();
        }
        checkCurrent(a, current);
        commitIfOpen(a.producer);
        awaitArray(a);
        finishAwait(a.generation, a.producer, "array read");
        engine.download(a, target);
    }

    private void checkCurrent(BackplaneArray a, Generation g) {
        if (a.generation != g) {
            throw new StaleGenerationException(id, "Array " + a.shape(), a.generation.number, g.number, a.generation.first);
        }
    }

    private void awaitArray(BackplaneArray a) {
        if (!waiters.await(a::isSettled)) {
            throw new StreamInterruptedException(id, "array " + a.shape());
        }
    }

    /**
     * After a wait for work of generation {@code g} (and batch {@code batch}, if one): returns if the
     * work completed, otherwise throws what the contract says the caller sees.
     */
    private void finishAwait(Generation g, CommandBatch batch, String what) {
        for (;;) {
            Generation now = current;
            if (now != g) {
                throw new StaleGenerationException(id, "Work awaited by " + what, g.number, now.number, g.first);
            }
            int state = g.state;
            if (g.isClosingOrClosed()) {
                StreamError workError = batch != null && batch.status == CommandBatch.FAILED ? batch.error
                        : batch == null ? g.first : null;
                if (workError != null || batch != null && batch.status != CommandBatch.DONE) {
                    throw closed(g, workError);
                }
                return;
            }
            if (g.first == null && state == Generation.ACTIVE) {
                return;
            }
            if (state == Generation.ACTIVE) {
                Thread.onSpinWait(); // the capturing thread is between recording the error and marking the state
                continue;
            }
            throw refusal(g);
        }
    }

    /**
     * The exception for a call on failed generation {@code g}: the report if this call is the first
     * to see it (S3), the refusal otherwise (S4), or staleness if a reset replaced {@code g}.
     */
    private RuntimeException refusal(Generation g) {
        for (;;) {
            if (current != g) {
                return new StaleGenerationException(id, "Work", g.number, current.number, g.first);
            }
            switch (g.state) {
                case Generation.FAILED -> {
                    // Holding the encode lock, no encode of this stream is under way, so once the state
                    // reads POISONED no native call touches the stream's queue until reset (S4).
                    encodeLock.lock();
                    boolean reported;
                    try {
                        reported = g == current && g.casState(Generation.FAILED, Generation.POISONED);
                    } finally {
                        encodeLock.unlock();
                    }
                    if (reported) {
                        backend.publish(StreamTransition.Type.POISONED, StreamState.FAILED, this, g.first);
                        return new StreamFailedException(g.first);
                    }
                }
                case Generation.POISONED -> {
                    return new StreamPoisonedException(g.first);
                }
                case Generation.ACTIVE -> Thread.onSpinWait();
                default -> {
                    return closed(g, null);
                }
            }
        }
    }

    /** An array was closed by its owner. */
    void release(BackplaneArray a) {
        try {
            engine.release(a);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "engine failed to release an array of " + id, e);
        }
    }

    /** Lets the engine free what it attached to a batch that will never run; its failure is only logged. */
    private void tellEngineDiscarded(CommandBatch batch) {
        try {
            engine.discarded(batch);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "engine failed to discard " + batch, e);
        }
    }

    // ------------------------------------------------------------------ holds (a test aid)

    /** See {@link org.backplane.api.fault.FaultInjector#hold}. */
    Hold hold() {
        encodeLock.lock();
        try {
            if (current.isClosingOrClosed()) {
                throw closed(current, null);
            }
            if (hold != null) {
                throw new IllegalStateException("stream " + id + " is already held");
            }
            hold = new StreamHold(this);
            return hold;
        } finally {
            encodeLock.unlock();
        }
    }

    /** The hold ended: the batches it kept go to the engine in order (or fail, if the stream failed meanwhile). */
    void holdReleased(StreamHold released) {
        encodeLock.lock();
        try {
            if (hold != released) {
                return;
            }
            hold = null;
            CommandBatch batch;
            while ((batch = held.poll()) != null) {
                Generation g = batch.generation;
                if (g == current && (g.state == Generation.ACTIVE || g.state == Generation.CLOSING)) {
                    commitToEngine(batch);
                } else {
                    tellEngineDiscarded(batch);
                    batchFailed(batch, g.first != null ? g.first
                            : error(ErrorKind.INTERNAL).message("the stream was reset while this work was held").batch(batch).build());
                }
            }
        } finally {
            encodeLock.unlock();
        }
    }

    /** Closing, resetting and stopping never wait for a test's hold. */
    private void releaseHolds() {
        StreamHold h;
        encodeLock.lock();
        try {
            h = hold;
        } finally {
            encodeLock.unlock();
        }
        if (h != null) {
            h.release();
        }
    }

    // ------------------------------------------------------------------ reset (S7) and close (S11)

    /**
     * Resets the stream (S7). A healthy stream is left alone. Safe while other threads submit:
     * they see the old generation's refusal until the new generation is in place.
     */
    StreamSnapshot reset(Duration timeout) {
        lifecycleLock.lock();
        try {
            Generation g = current;
            if (g.state == Generation.ACTIVE) {
                return snapshot();
            }
            if (g.isClosingOrClosed()) {
                throw closed(g, null);
            }
            StreamState from = Generation.publicState(g.state);
            long deadline = System.nanoTime() + timeout.toNanos();
            releaseHolds();
            if (!waiters.await(() -> g.inFlight.get() == 0, timeout.toNanos())) {
                LOG.log(System.Logger.Level.WARNING, () -> "reset of " + id + ": " + g.inFlight.get()
                        + " batches of the failed generation did not finish within " + timeout + "; discarding them");
            }
            engine.rebuild(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            failUnreported(g, g.first);
            encodeLock.lock();
            try {
                CommandBatch stale = open;
                open = null;
                if (stale != null) {
                    discard(stale, g);
                }
                current = new Generation(g.number + 1, nextSequence - 1);
            } finally {
                encodeLock.unlock();
            }
            waiters.signalAll();
            backend.publish(StreamTransition.Type.RESET, from, this, g.first);
            return snapshot();
        } finally {
            lifecycleLock.unlock();
        }
    }

    @Override
    public void close() {
        shutdown(null, backend.settings().closeTimeout());
    }

    /**
     * Closes the stream. With {@code abortError} null, queued work is committed and may finish within
     * {@code timeout}; otherwise (the backend is stopping) running work is stopped and the rest fails
     * with {@code abortError}. Idempotent.
     */
    void shutdown(StreamError abortError, Duration timeout) {
        lifecycleLock.lock();
        try {
            Generation g = current;
            if (g.state == Generation.CLOSED) {
                return;
            }
            StreamState from = Generation.publicState(g.state);
            long deadline = System.nanoTime() + timeout.toNanos();
            if (abortError == null && g.state == Generation.ACTIVE) {
                flushAndGetLast();
            }
            encodeLock.lock();
            try {
                g.setState(Generation.CLOSING);
                if (abortError != null) {
                    // Everything of this generation not yet reported now ends with the stop's error,
                    // also work a GPU finishes during the stop (it cannot be cancelled there).
                    g.offerError(abortError);
                }
                CommandBatch pending = open;
                open = null;
                if (pending != null) {
                    discard(pending, g);
                }
                releaseHolds();
            } finally {
                encodeLock.unlock();
            }
            if (abortError == null && !waiters.await(() -> g.inFlight.get() == 0, timeout.toNanos())) {
                LOG.log(System.Logger.Level.WARNING, () -> "closing " + id + ": work did not finish within " + timeout + "; stopping it");
            }
            StreamError abort = abortError != null ? abortError : g.inFlight.get() == 0 ? null
                    : error(ErrorKind.INTERNAL).message("the stream was closed before its work finished").build();
            try {
                engine.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())), abort);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "engine failed to close stream " + id, e);
            }
            failUnreported(g, abort != null ? abort
                    : error(ErrorKind.INTERNAL).message("the engine closed without finishing this work").build());
            g.setState(Generation.CLOSED);
            waiters.signalAll();
            backend.unregister(this);
            backend.publish(StreamTransition.Type.CLOSED, from, this, null);
        } finally {
            lifecycleLock.unlock();
        }
    }
}
