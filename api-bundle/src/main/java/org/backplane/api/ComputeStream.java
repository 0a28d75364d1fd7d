package org.backplane.api;

import java.lang.foreign.MemorySegment;
import java.nio.FloatBuffer;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A serial queue of array work on one backend, with its own error slot.
 *
 * <p><b>Execution.</b> Ops are submitted asynchronously: each op method validates its arguments,
 * queues the work and returns its output array at once. Ops on one stream run in submission order;
 * the backend batches them into command buffers that are committed after a number of ops or bytes,
 * or at {@link #eval}, {@link #synchronize} or when an array is read. Arrays from other streams of
 * the same backend may be used as inputs: the work waits for them.
 *
 * <p><b>Failures (the stream error contract).</b> A failure while work executes is captured into
 * this stream's slot, never thrown on the thread that noticed it. The next call on this stream
 * from a user thread (any op, {@code eval}, {@code synchronize}, reading one of its arrays) throws
 * {@link StreamFailedException} with the original {@link StreamError}, exactly once; every later
 * call throws {@link StreamPoisonedException} until the stream is reset through
 * {@link ExecutionBackend#reset} or the {@link PoisonStateService}. Other streams never notice,
 * except that work consuming this stream's failed arrays fails with
 * {@link ErrorKind#UPSTREAM_FAILURE}. Arrays produced by failed work can never be read as data.
 *
 * <p><b>Bad input</b> (null, a shape mismatch, an array of another backend, a closed stream, an
 * array larger than the backend could ever hold) throws {@link NullPointerException},
 * {@link IllegalArgumentException} or {@link StreamClosedException} at once on the caller's thread,
 * and leaves the stream usable.
 *
 * <p>Streams are safe to use from several threads; ops submitted concurrently run in the order
 * they were queued.
 */
@ProviderType
public interface ComputeStream extends AutoCloseable {
    StreamId id();

    String label();

    /** The backend this stream runs on. */
    ExecutionBackend backend();

    /** This stream's state, generation, error slot and counters right now. */
    StreamSnapshot snapshot();

    // ---------------------------------------------------------------- arrays from host data

    /**
     * Copies host data into a new array. The data is copied before this returns, so the caller
     * may reuse its buffer at once.
     *
     * @throws IllegalArgumentException if {@code data.length} differs from the shape's element count
     */
    DeviceArray upload(float[] data, int... shape);

    /** Copies the buffer's remaining floats (position to limit) into a new array. */
    DeviceArray upload(FloatBuffer data, int... shape);

    /** Copies native-order float32 values from a memory segment (its whole size) into a new array. */
    DeviceArray upload(MemorySegment data, int... shape);

    /** A new array of the shape with every element set to {@code value}. */
    DeviceArray full(float value, int... shape);

    // ---------------------------------------------------------------- ops

    /** Applies an elementwise unary op. */
    DeviceArray unary(UnaryOp op, DeviceArray x);

    /** Applies an elementwise binary op with NumPy broadcasting. */
    DeviceArray binary(BinaryOp op, DeviceArray a, DeviceArray b);

    /**
     * Matrix product. 2-D: {@code [m, k] x [k, n] -> [m, n]}. Batched: a 3-D operand is a stack of
     * matrices; batch dimensions broadcast ({@code [b, m, k] x [k, n]}, {@code [m, k] x [b, k, n]},
     * {@code [1, m, k] x [b, k, n]}).
     */
    DeviceArray matmul(DeviceArray a, DeviceArray b);

    /** Reverses the axes (for a matrix, the usual transpose). */
    DeviceArray transpose(DeviceArray x);

    /** Permutes the axes: output axis {@code i} is input axis {@code axes[i]}. */
    DeviceArray transpose(DeviceArray x, int... axes);

    /** Reduces over all elements to a scalar. */
    DeviceArray reduce(ReduceOp op, DeviceArray x);

    /** Reduces over one axis (negative counts from the end), removing it from the shape. */
    DeviceArray reduce(ReduceOp op, DeviceArray x, int axis);

    /** Softmax over the last axis. */
    DeviceArray softmax(DeviceArray x);

    default DeviceArray neg(DeviceArray x) {
        return unary(UnaryOp.NEG, x);
    }

    default DeviceArray abs(DeviceArray x) {
        return unary(UnaryOp.ABS, x);
    }

    default DeviceArray exp(DeviceArray x) {
        return unary(UnaryOp.EXP, x);
    }

    default DeviceArray log(DeviceArray x) {
        return unary(UnaryOp.LOG, x);
    }

    default DeviceArray sqrt(DeviceArray x) {
        return unary(UnaryOp.SQRT, x);
    }

    default DeviceArray tanh(DeviceArray x) {
        return unary(UnaryOp.TANH, x);
    }

    default DeviceArray sigmoid(DeviceArray x) {
        return unary(UnaryOp.SIGMOID, x);
    }

    default DeviceArray relu(DeviceArray x) {
        return unary(UnaryOp.RELU, x);
    }

    default DeviceArray add(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.ADD, a, b);
    }

    default DeviceArray sub(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.SUB, a, b);
    }

    default DeviceArray mul(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.MUL, a, b);
    }

    default DeviceArray div(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.DIV, a, b);
    }

    default DeviceArray maximum(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.MAXIMUM, a, b);
    }

    default DeviceArray minimum(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.MINIMUM, a, b);
    }

    default DeviceArray sum(DeviceArray x) {
        return reduce(ReduceOp.SUM, x);
    }

    default DeviceArray sum(DeviceArray x, int axis) {
        return reduce(ReduceOp.SUM, x, axis);
    }

    default DeviceArray max(DeviceArray x) {
        return reduce(ReduceOp.MAX, x);
    }

    default DeviceArray max(DeviceArray x, int axis) {
        return reduce(ReduceOp.MAX, x, axis);
    }

    default DeviceArray mean(DeviceArray x) {
        return reduce(ReduceOp.MEAN, x);
    }

    default DeviceArray mean(DeviceArray x, int axis) {
        return reduce(ReduceOp.MEAN, x, axis);
    }

    // ---------------------------------------------------------------- completion

    /**
     * Commits queued work and waits until the given arrays of this stream are computed.
     *
     * @throws IllegalArgumentException if an array belongs to another stream
     * @throws StreamFailedException if this stream failed (reported once)
     * @throws StreamPoisonedException if the failure was already reported
     */
    void eval(DeviceArray... arrays);

    /**
     * Commits queued work without waiting for it. Work is otherwise committed once a command buffer
     * is full, or by {@link #eval}, {@link #synchronize} or reading an array.
     */
    void flush();

    /** Commits queued work and waits until everything submitted before this call has run. */
    void synchronize();

    /**
     * Closes the stream: commits queued work, waits a bounded time for it, releases the stream's
     * native queue and worker, and tells listeners. Arrays already computed stay readable.
     * Closing twice does nothing.
     */
    @Override
    void close();
}
