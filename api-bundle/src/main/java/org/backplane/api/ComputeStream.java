package org.backplane.api;

import java.lang.foreign.MemorySegment;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
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
 * <p><b>Views.</b> {@link #reshape}, {@link #expandDims}, {@link #squeeze}, {@link #broadcastTo},
 * {@link #slice}, {@link #transpose} and {@link #split} return views: arrays that share their
 * input's memory, made without queuing any work (a reshape of a view that cannot be expressed with
 * strides copies it first). A view is ready, failed or stale exactly when the array it views is.
 *
 * <p><b>Types.</b> Arrays have a {@link DType}; {@link DType} gives the rules for mixed types,
 * scalars, half precision, integer overflow and conversions.
 *
 * <p><b>Failures (the stream error contract).</b> A failure while work executes is captured into
 * this stream's slot, never thrown on the thread that noticed it. The next call on this stream
 * from a user thread (any op or view, {@code eval}, {@code synchronize}, reading one of its arrays)
 * throws {@link StreamFailedException} with the original {@link StreamError}, exactly once; every
 * later call throws {@link StreamPoisonedException} until the stream is reset through
 * {@link ExecutionBackend#reset} or the {@link PoisonStateService}. Other streams never notice,
 * except that work consuming this stream's failed arrays fails with
 * {@link ErrorKind#UPSTREAM_FAILURE}. Arrays produced by failed work can never be read as data.
 *
 * <p><b>Bad input</b> (null, a shape or type mismatch, an axis or index out of range where it is
 * known on the caller's thread, an array of another backend, a closed stream, an array larger than
 * the backend could ever hold) throws {@link NullPointerException}, {@link IllegalArgumentException}
 * or {@link StreamClosedException} at once on the caller's thread, and leaves the stream usable. An
 * index that is out of range only in data the device holds (a {@link #take} index array) fails the
 * stream with {@link ErrorKind#INVALID_ARGUMENT}; it never reads memory it must not.
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
     * Copies host data into a new {@code float32} array. The data is copied before this returns, so
     * the caller may reuse its buffer at once.
     *
     * @throws IllegalArgumentException if {@code data.length} differs from the shape's element count
     */
    DeviceArray upload(float[] data, int... shape);

    /** Copies the buffer's remaining floats (position to limit) into a new {@code float32} array. */
    DeviceArray upload(FloatBuffer data, int... shape);

    /** Copies native-order float32 values from a memory segment (its whole size) into a new array. */
    DeviceArray upload(MemorySegment data, int... shape);

    /**
     * Copies native-order values of {@code dtype} from a memory segment (its whole size) into a new
     * array ({@code bool}: one byte each, non-zero is true; {@code float16}/{@code bfloat16}: their
     * 16-bit patterns).
     *
     * @throws IllegalArgumentException if the segment's size is not the shape's element count times
     *     the type's size
     */
    DeviceArray upload(MemorySegment data, DType dtype, int... shape);

    /** Copies {@code int32} values into a new array. */
    default DeviceArray upload(int[] data, int... shape) {
        return upload(MemorySegment.ofArray(data), DType.INT32, shape);
    }

    /** Copies {@code int64} values into a new array. */
    default DeviceArray upload(long[] data, int... shape) {
        return upload(MemorySegment.ofArray(data), DType.INT64, shape);
    }

    /** Copies {@code bool} values into a new array. */
    default DeviceArray upload(boolean[] data, int... shape) {
        byte[] bytes = new byte[data.length];
        for (int i = 0; i < data.length; i++) {
            bytes[i] = (byte) (data[i] ? 1 : 0);
        }
        return upload(MemorySegment.ofArray(bytes), DType.BOOL, shape);
    }

    /** Copies 16-bit patterns of {@code float16} or {@code bfloat16} values into a new array. */
    default DeviceArray upload(short[] bits, DType dtype, int... shape) {
        if (dtype.byteSize() != Short.BYTES) {
            throw new IllegalArgumentException("16-bit patterns are float16 or bfloat16 values, not " + dtype.id());
        }
        return upload(MemorySegment.ofArray(bits), dtype, shape);
    }

    /** A new {@code float32} array of the shape with every element set to {@code value}. */
    DeviceArray full(float value, int... shape);

    /**
     * A new array of {@code dtype} and the shape with every element {@code value}, converted by the
     * type's rules ({@link DType}).
     */
    DeviceArray full(DType dtype, double value, int... shape);

    /** {@code x} converted to {@code dtype} by the rules of {@link DType}; a new array. */
    DeviceArray astype(DeviceArray x, DType dtype);

    // ---------------------------------------------------------------- views and joins

    /**
     * The same elements in another shape (row-major order). One dimension may be {@code -1}: it is
     * inferred. A view where the strides allow it.
     */
    DeviceArray reshape(DeviceArray x, int... shape);

    /** A view with a new axis of size 1 at {@code axis} (negative counts from the end of the result). */
    DeviceArray expandDims(DeviceArray x, int axis);

    /** A view without the given size-1 axes, or without every size-1 axis when none are given. */
    DeviceArray squeeze(DeviceArray x, int... axes);

    /** A view repeating {@code x} along broadcast dimensions to the given shape (NumPy rules). */
    DeviceArray broadcastTo(DeviceArray x, int... shape);

    /**
     * A view of {@code x[start:stop:step]} along every axis (NumPy's semantics: negative values count
     * from the end, bounds are clamped, a negative step walks backwards; {@code Integer.MAX_VALUE}
     * and {@code Integer.MIN_VALUE} stand for "to the end").
     *
     * @throws IllegalArgumentException if the arrays' lengths differ from the rank or a step is 0
     */
    DeviceArray slice(DeviceArray x, int[] start, int[] stop, int[] step);

    /** A view of {@code x[start:stop]} along one axis, the others whole. */
    default DeviceArray slice(DeviceArray x, int axis, int start, int stop) {
        return slice(x, axis, start, stop, 1);
    }

    /** A view of {@code x[start:stop:step]} along one axis, the others whole. */
    default DeviceArray slice(DeviceArray x, int axis, int start, int stop, int step) {
        int rank = x.shape().rank();
        int a = x.shape().normalizeAxis(axis);
        int[] starts = new int[rank];
        int[] stops = new int[rank];
        int[] steps = new int[rank];
        Arrays.fill(stops, Integer.MAX_VALUE);
        Arrays.fill(steps, 1);
        starts[a] = start;
        stops[a] = stop;
        steps[a] = step;
        return slice(x, starts, stops, steps);
    }

    /** Reverses the axes (for a matrix, the usual transpose); a view. */
    DeviceArray transpose(DeviceArray x);

    /** Permutes the axes: output axis {@code i} is input axis {@code axes[i]}; a view. */
    DeviceArray transpose(DeviceArray x, int... axes);

    /**
     * Joins arrays along an existing axis; shapes must agree elsewhere; types are promoted to their
     * common type. A new array.
     */
    DeviceArray concatenate(List<DeviceArray> arrays, int axis);

    /** Joins arrays of one shape along a new axis. A new array. */
    default DeviceArray stack(List<DeviceArray> arrays, int axis) {
        if (arrays.isEmpty()) {
            throw new IllegalArgumentException("stack needs at least one array");
        }
        int rank = arrays.getFirst().shape().rank() + 1;
        int a = axis < 0 ? axis + rank : axis;
        List<DeviceArray> expanded = new ArrayList<>();
        for (DeviceArray x : arrays) {
            expanded.add(expandDims(x, a));
        }
        return concatenate(expanded, a);
    }

    /** Views splitting {@code x} into {@code sections} equal parts along {@code axis}. */
    default List<DeviceArray> split(DeviceArray x, int sections, int axis) {
        int a = x.shape().normalizeAxis(axis);
        int n = x.shape().dim(a);
        if (sections <= 0 || n % sections != 0) {
            throw new IllegalArgumentException(
                    "axis " + a + " of " + x.shape() + " cannot be split into " + sections + " equal parts");
        }
        int[] sizes = new int[sections];
        Arrays.fill(sizes, n / sections);
        return split(x, sizes, a);
    }

    /** Views splitting {@code x} along {@code axis} into parts of the given sizes (summing to the axis). */
    default List<DeviceArray> split(DeviceArray x, int[] sizes, int axis) {
        int a = x.shape().normalizeAxis(axis);
        long total = 0;
        for (int s : sizes) {
            if (s < 0) {
                throw new IllegalArgumentException("split sizes must not be negative: " + Arrays.toString(sizes));
            }
            total += s;
        }
        if (total != x.shape().dim(a)) {
            throw new IllegalArgumentException("split sizes " + Arrays.toString(sizes) + " add up to " + total
                    + ", not the " + x.shape().dim(a) + " of axis " + a + " of " + x.shape());
        }
        List<DeviceArray> parts = new ArrayList<>();
        int start = 0;
        for (int s : sizes) {
            parts.add(slice(x, a, start, start + s));
            start += s;
        }
        return parts;
    }

    // ---------------------------------------------------------------- indexing and selection

    /**
     * The elements of {@code x} at {@code indices} along {@code axis} (an embedding lookup, NumPy's
     * {@code take}): the result's shape is {@code x.shape[:axis] + indices.shape + x.shape[axis+1:]}.
     * Indices are {@code int32} or {@code int64}; a negative index counts from the end. An index out
     * of range fails the stream with {@link ErrorKind#INVALID_ARGUMENT} when the work runs.
     */
    DeviceArray take(DeviceArray x, DeviceArray indices, int axis);

    /**
     * {@link #take(DeviceArray, DeviceArray, int)} with indices known on the host: an index out of
     * range fails at once, on the caller's thread, with {@link IllegalArgumentException}, and
     * nothing is queued.
     */
    default DeviceArray take(DeviceArray x, int[] indices, int axis) {
        Objects.requireNonNull(x, "x must not be null");
        Objects.requireNonNull(indices, "indices must not be null");
        int a = x.shape().normalizeAxis(axis);
        int n = x.shape().dim(a);
        for (int i = 0; i < indices.length; i++) {
            if (indices[i] < -n || indices[i] >= n) {
                throw new IllegalArgumentException("take index " + indices[i] + " (position " + i
                        + ") is out of range for axis " + axis + " of " + x.shape() + " (size " + n + ")");
            }
        }
        return take(x, upload(indices, indices.length), axis);
    }

    /** Same as {@link #take}: ONNX's and PyTorch's name for it. */
    default DeviceArray gather(DeviceArray x, DeviceArray indices, int axis) {
        return take(x, indices, axis);
    }

    /** {@code condition ? a : b} elementwise, with broadcasting; the condition is converted to {@code bool}. */
    DeviceArray where(DeviceArray condition, DeviceArray a, DeviceArray b);

    /** The index of the largest element along {@code axis} ({@code int64}; the first on ties; NaN is largest). */
    DeviceArray argmax(DeviceArray x, int axis, boolean keepDims);

    /** The index of the smallest element along {@code axis} ({@code int64}; the first on ties; NaN is smallest). */
    DeviceArray argmin(DeviceArray x, int axis, boolean keepDims);

    default DeviceArray argmax(DeviceArray x, int axis) {
        return argmax(x, axis, false);
    }

    default DeviceArray argmin(DeviceArray x, int axis) {
        return argmin(x, axis, false);
    }

    /** Running sum along {@code axis} (inclusive); types as for {@link ReduceOp#SUM}. */
    DeviceArray cumsum(DeviceArray x, int axis);

    // ---------------------------------------------------------------- elementwise

    /** Applies an elementwise unary op. */
    DeviceArray unary(UnaryOp op, DeviceArray x);

    /** Applies an elementwise binary op with NumPy broadcasting. */
    DeviceArray binary(BinaryOp op, DeviceArray a, DeviceArray b);

    /** Applies a binary op with a scalar second operand (weakly typed: see {@link DType}). */
    DeviceArray binary(BinaryOp op, DeviceArray a, double b);

    /** Applies a binary op with a scalar first operand. */
    DeviceArray binary(BinaryOp op, double a, DeviceArray b);

    /** Applies a binary op with an integer scalar second operand (keeps integer arrays integer). */
    DeviceArray binary(BinaryOp op, DeviceArray a, long b);

    /** Applies a binary op with an integer scalar first operand. */
    DeviceArray binary(BinaryOp op, long a, DeviceArray b);

    // ---------------------------------------------------------------- matrices, reductions, normalisation

    /**
     * Matrix product. 2-D: {@code [m, k] x [k, n] -> [m, n]}. Batched: operands of higher rank are
     * stacks of matrices whose leading (batch) dimensions broadcast by NumPy's rules ({@code [b, m,
     * k] x [k, n]}, {@code [2, 1, m, k] x [3, k, n] -> [2, 3, m, n]}). Floating types only; mixed
     * types are promoted; accumulation is in {@code float32}.
     */
    DeviceArray matmul(DeviceArray a, DeviceArray b);

    /** Reduces over all elements to a scalar. */
    DeviceArray reduce(ReduceOp op, DeviceArray x);

    /** Reduces over one axis (negative counts from the end), removing it from the shape. */
    DeviceArray reduce(ReduceOp op, DeviceArray x, int axis);

    /**
     * Reduces over the given axes (none: all), removing them from the shape, or keeping them with
     * size 1 when {@code keepDims}.
     */
    DeviceArray reduce(ReduceOp op, DeviceArray x, int[] axes, boolean keepDims);

    /** Softmax over the last axis. */
    DeviceArray softmax(DeviceArray x);

    /** Softmax over {@code axis}: {@code exp(x - max) / sum(exp(x - max))}, in {@code float32}. */
    DeviceArray softmax(DeviceArray x, int axis);

    /** Log-softmax over {@code axis}: {@code x - max - log(sum(exp(x - max)))}, in {@code float32}. */
    DeviceArray logSoftmax(DeviceArray x, int axis);

    /**
     * Layer normalisation over the last axis, fused: {@code (x - mean) / sqrt(var + epsilon) *
     * weight + bias}, statistics in {@code float32}. {@code weight} and {@code bias} are optional
     * (null) vectors of the last axis's length.
     */
    DeviceArray layerNorm(DeviceArray x, DeviceArray weight, DeviceArray bias, float epsilon);

    /** RMS normalisation over the last axis, fused: {@code x / sqrt(mean(x^2) + epsilon) * weight}; {@code weight} optional. */
    DeviceArray rmsNorm(DeviceArray x, DeviceArray weight, float epsilon);

    /**
     * Scaled dot-product attention as one op: {@code softmax(q k^T * scale + mask) v} for {@code q
     * [..., Lq, D]}, {@code k [..., Lk, D]}, {@code v [..., Lk, Dv]} (batch dimensions broadcast)
     * giving {@code [..., Lq, Dv]}. {@code mask}, optional, broadcasts to {@code [..., Lq, Lk]}: a
     * {@code bool} mask keeps positions where it is true; a floating mask is added to the scores.
     * Fused where the backend has a fused kernel, composed of its own matrix products and softmax
     * elsewhere; statistics in {@code float32}.
     */
    DeviceArray scaledDotProductAttention(DeviceArray q, DeviceArray k, DeviceArray v, DeviceArray mask, float scale);

    // ---------------------------------------------------------------- unary conveniences

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

    default DeviceArray rsqrt(DeviceArray x) {
        return unary(UnaryOp.RSQRT, x);
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

    default DeviceArray erf(DeviceArray x) {
        return unary(UnaryOp.ERF, x);
    }

    /** GELU, exact (with erf). */
    default DeviceArray gelu(DeviceArray x) {
        return unary(UnaryOp.GELU, x);
    }

    /** GELU, exact or with the tanh approximation. */
    default DeviceArray gelu(DeviceArray x, boolean tanhApproximation) {
        return unary(tanhApproximation ? UnaryOp.GELU_TANH : UnaryOp.GELU, x);
    }

    default DeviceArray silu(DeviceArray x) {
        return unary(UnaryOp.SILU, x);
    }

    default DeviceArray sin(DeviceArray x) {
        return unary(UnaryOp.SIN, x);
    }

    default DeviceArray cos(DeviceArray x) {
        return unary(UnaryOp.COS, x);
    }

    default DeviceArray reciprocal(DeviceArray x) {
        return unary(UnaryOp.RECIPROCAL, x);
    }

    default DeviceArray logicalNot(DeviceArray x) {
        return unary(UnaryOp.LOGICAL_NOT, x);
    }

    /** {@link UnaryOp#FLOOR}. */
    default DeviceArray floor(DeviceArray x) {
        return unary(UnaryOp.FLOOR, x);
    }

    // ---------------------------------------------------------------- binary conveniences

    default DeviceArray add(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.ADD, a, b);
    }

    default DeviceArray add(DeviceArray a, double b) {
        return binary(BinaryOp.ADD, a, b);
    }

    default DeviceArray add(DeviceArray a, long b) {
        return binary(BinaryOp.ADD, a, b);
    }

    default DeviceArray sub(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.SUB, a, b);
    }

    default DeviceArray sub(DeviceArray a, double b) {
        return binary(BinaryOp.SUB, a, b);
    }

    default DeviceArray sub(double a, DeviceArray b) {
        return binary(BinaryOp.SUB, a, b);
    }

    default DeviceArray sub(DeviceArray a, long b) {
        return binary(BinaryOp.SUB, a, b);
    }

    default DeviceArray mul(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.MUL, a, b);
    }

    default DeviceArray mul(DeviceArray a, double b) {
        return binary(BinaryOp.MUL, a, b);
    }

    default DeviceArray mul(DeviceArray a, long b) {
        return binary(BinaryOp.MUL, a, b);
    }

    default DeviceArray div(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.DIV, a, b);
    }

    default DeviceArray div(DeviceArray a, double b) {
        return binary(BinaryOp.DIV, a, b);
    }

    default DeviceArray div(double a, DeviceArray b) {
        return binary(BinaryOp.DIV, a, b);
    }

    default DeviceArray pow(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.POW, a, b);
    }

    default DeviceArray pow(DeviceArray a, double b) {
        return binary(BinaryOp.POW, a, b);
    }

    default DeviceArray maximum(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.MAXIMUM, a, b);
    }

    default DeviceArray maximum(DeviceArray a, double b) {
        return binary(BinaryOp.MAXIMUM, a, b);
    }

    default DeviceArray minimum(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.MINIMUM, a, b);
    }

    default DeviceArray minimum(DeviceArray a, double b) {
        return binary(BinaryOp.MINIMUM, a, b);
    }

    default DeviceArray equal(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.EQUAL, a, b);
    }

    default DeviceArray equal(DeviceArray a, double b) {
        return binary(BinaryOp.EQUAL, a, b);
    }

    default DeviceArray notEqual(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.NOT_EQUAL, a, b);
    }

    default DeviceArray less(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.LESS, a, b);
    }

    default DeviceArray less(DeviceArray a, double b) {
        return binary(BinaryOp.LESS, a, b);
    }

    default DeviceArray lessEqual(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.LESS_EQUAL, a, b);
    }

    default DeviceArray greater(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.GREATER, a, b);
    }

    default DeviceArray greater(DeviceArray a, double b) {
        return binary(BinaryOp.GREATER, a, b);
    }

    default DeviceArray greaterEqual(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.GREATER_EQUAL, a, b);
    }

    default DeviceArray logicalAnd(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.LOGICAL_AND, a, b);
    }

    default DeviceArray logicalOr(DeviceArray a, DeviceArray b) {
        return binary(BinaryOp.LOGICAL_OR, a, b);
    }

    // ---------------------------------------------------------------- reduction conveniences

    default DeviceArray sum(DeviceArray x) {
        return reduce(ReduceOp.SUM, x);
    }

    default DeviceArray sum(DeviceArray x, int axis) {
        return reduce(ReduceOp.SUM, x, axis);
    }

    default DeviceArray sum(DeviceArray x, int axis, boolean keepDims) {
        return reduce(ReduceOp.SUM, x, new int[] {axis}, keepDims);
    }

    default DeviceArray max(DeviceArray x) {
        return reduce(ReduceOp.MAX, x);
    }

    default DeviceArray max(DeviceArray x, int axis) {
        return reduce(ReduceOp.MAX, x, axis);
    }

    default DeviceArray min(DeviceArray x) {
        return reduce(ReduceOp.MIN, x);
    }

    default DeviceArray min(DeviceArray x, int axis) {
        return reduce(ReduceOp.MIN, x, axis);
    }

    default DeviceArray mean(DeviceArray x) {
        return reduce(ReduceOp.MEAN, x);
    }

    default DeviceArray mean(DeviceArray x, int axis) {
        return reduce(ReduceOp.MEAN, x, axis);
    }

    default DeviceArray mean(DeviceArray x, int axis, boolean keepDims) {
        return reduce(ReduceOp.MEAN, x, new int[] {axis}, keepDims);
    }

    default DeviceArray prod(DeviceArray x, int axis) {
        return reduce(ReduceOp.PROD, x, axis);
    }

    default DeviceArray var(DeviceArray x, int axis) {
        return reduce(ReduceOp.VAR, x, axis);
    }

    default DeviceArray var(DeviceArray x, int axis, boolean keepDims) {
        return reduce(ReduceOp.VAR, x, new int[] {axis}, keepDims);
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
