package org.backplane.spi.internal.stream;

import java.lang.foreign.MemorySegment;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.backplane.api.BinaryOp;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.StreamError;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamId;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.UnaryOp;
import org.backplane.spi.EngineFailure;
import org.backplane.spi.ErrorScope;
import org.backplane.spi.Op;
import org.backplane.spi.Scalar;

/**
 * The {@link ComputeStream} a host holds: the API and nothing else. Each call is checked on the
 * caller's thread (bad input fails at once and poisons nothing) and handed to {@link Ops} (ops) or
 * {@link Views} (views); reads, {@code eval} and {@code synchronize} wait for work and throw what the
 * contract says they see.
 */
final class StreamImpl implements ComputeStream {
    final Stream owner;
    private final StreamSlot slot;
    private final Batcher batcher;
    private final Ops ops;
    private final Views views;
    private final Reads reads;

    StreamImpl(Stream owner) {
        this.owner = owner;
        this.slot = owner.slot;
        this.batcher = owner.batcher;
        this.ops = new Ops(slot, batcher);
        this.views = new Views(ops);
        this.reads = new Reads(owner, ops);
    }

    @Override
    public StreamId id() {
        return owner.id;
    }

    @Override
    public String label() {
        return owner.label;
    }

    @Override
    public ExecutionBackend backend() {
        return owner.backend.api();
    }

    @Override
    public StreamSnapshot snapshot() {
        return owner.snapshot();
    }

    @Override
    public String toString() {
        Generation g = slot.current();
        return "ComputeStream[" + owner.id + " '" + owner.label + "', " + Generation.publicState(g.state) + ", gen "
                + g.number + "]";
    }

    // ------------------------------------------------------------------ arrays from host data

    @Override
    public DeviceArray upload(float[] data, int... shape) {
        Objects.requireNonNull(data, "data must not be null");
        return uploadSegment(MemorySegment.ofArray(data), DType.FLOAT32, data.length, shape);
    }

    @Override
    public DeviceArray upload(FloatBuffer data, int... shape) {
        Objects.requireNonNull(data, "data must not be null");
        return uploadSegment(MemorySegment.ofBuffer(data), DType.FLOAT32, data.remaining(), shape);
    }

    @Override
    public DeviceArray upload(MemorySegment data, int... shape) {
        return upload(data, DType.FLOAT32, shape);
    }

    @Override
    public DeviceArray upload(MemorySegment data, DType dtype, int... shape) {
        Objects.requireNonNull(data, "data must not be null");
        Objects.requireNonNull(dtype, "dtype must not be null");
        if (data.byteSize() % dtype.byteSize() != 0) {
            throw new IllegalArgumentException(
                    "segment of " + data.byteSize() + " bytes does not hold whole " + dtype.id() + " values");
        }
        return uploadSegment(data, dtype, data.byteSize() / dtype.byteSize(), shape);
    }

    private DeviceArray uploadSegment(MemorySegment data, DType dtype, long elements, int[] dims) {
        Shape shape = Shape.of(dims);
        if (elements != shape.size()) {
            throw new IllegalArgumentException("data holds " + elements + " " + dtype.id() + " values but shape "
                    + shape + " needs " + shape.size());
        }
        owner.backend.checkCapacity(shape, dtype);
        slot.hostCopies.readLock().lock();
        try {
            Generation g = slot.enter(); // under the lock: a close that began is seen, one to come waits
            ArrayImpl out = new ArrayImpl(owner, g, shape, dtype, null);
            String refused = owner.backend.memory().charge(owner.memory, out, out.byteSize());
            if (refused != null) {
                // S12: this stream's OUT_OF_MEMORY, reported at once (S3); nobody else notices
                throw slot.report(
                        g,
                        slot.error(ErrorKind.OUT_OF_MEMORY)
                                .message("upload of " + dtype.id() + " " + shape + ": " + refused)
                                .build(),
                        ErrorScope.STREAM);
            }
            try {
                owner.engine().upload(out, data.asSlice(0, out.byteSize()));
            } catch (EngineFailure e) {
                throw slot.report(g, e);
            }
            return new HostArray(this, out);
        } finally {
            slot.hostCopies.readLock().unlock();
        }
    }

    @Override
    public DeviceArray full(float value, int... shape) {
        return host(ops.fill(DType.FLOAT32, Scalar.of(value), Shape.of(shape)));
    }

    @Override
    public DeviceArray full(DType dtype, double value, int... shape) {
        Objects.requireNonNull(dtype, "dtype must not be null");
        return host(ops.fill(dtype, Scalar.of(value), Shape.of(shape)));
    }

    @Override
    public DeviceArray astype(DeviceArray x, DType dtype) {
        Objects.requireNonNull(dtype, "dtype must not be null");
        ArrayImpl a = input(x, "x");
        return host(a.dtype() == dtype ? ops.submit(new Op.Cast(), a.shape(), dtype, a) : ops.cast(a, dtype));
    }

    // ------------------------------------------------------------------ views and joins

    @Override
    public DeviceArray reshape(DeviceArray x, int... shape) {
        Objects.requireNonNull(shape, "shape must not be null");
        return host(views.reshape(input(x, "x"), shape));
    }

    @Override
    public DeviceArray expandDims(DeviceArray x, int axis) {
        return host(views.expandDims(input(x, "x"), axis));
    }

    @Override
    public DeviceArray squeeze(DeviceArray x, int... axes) {
        return host(views.squeeze(input(x, "x"), axes));
    }

    @Override
    public DeviceArray broadcastTo(DeviceArray x, int... shape) {
        Objects.requireNonNull(shape, "shape must not be null");
        return host(views.broadcastTo(input(x, "x"), shape));
    }

    @Override
    public DeviceArray slice(DeviceArray x, int[] start, int[] stop, int[] step) {
        Objects.requireNonNull(start, "start must not be null");
        Objects.requireNonNull(stop, "stop must not be null");
        Objects.requireNonNull(step, "step must not be null");
        return host(views.slice(input(x, "x"), start, stop, step));
    }

    @Override
    public DeviceArray transpose(DeviceArray x) {
        return host(views.transpose(input(x, "x"), null));
    }

    @Override
    public DeviceArray transpose(DeviceArray x, int... axes) {
        Objects.requireNonNull(axes, "axes must not be null");
        return host(views.transpose(input(x, "x"), axes));
    }

    @Override
    public DeviceArray concatenate(List<DeviceArray> arrays, int axis) {
        Objects.requireNonNull(arrays, "arrays must not be null");
        if (arrays.isEmpty()) {
            throw new IllegalArgumentException("concatenate needs at least one array");
        }
        List<ArrayImpl> inputs = new ArrayList<>();
        for (int i = 0; i < arrays.size(); i++) {
            inputs.add(input(arrays.get(i), "arrays[" + i + "]"));
        }
        return host(ops.concatenate(inputs, axis));
    }

    // ------------------------------------------------------------------ indexing and selection

    @Override
    public DeviceArray take(DeviceArray x, DeviceArray indices, int axis) {
        return host(ops.take(input(x, "x"), input(indices, "indices"), axis));
    }

    @Override
    public DeviceArray where(DeviceArray condition, DeviceArray a, DeviceArray b) {
        return host(ops.where(input(condition, "condition"), input(a, "a"), input(b, "b")));
    }

    @Override
    public DeviceArray argmax(DeviceArray x, int axis, boolean keepDims) {
        return host(ops.argReduce(true, input(x, "x"), axis, keepDims));
    }

    @Override
    public DeviceArray argmin(DeviceArray x, int axis, boolean keepDims) {
        return host(ops.argReduce(false, input(x, "x"), axis, keepDims));
    }

    @Override
    public DeviceArray cumsum(DeviceArray x, int axis) {
        return host(ops.cumsum(input(x, "x"), axis));
    }

    // ------------------------------------------------------------------ elementwise

    @Override
    public DeviceArray unary(UnaryOp op, DeviceArray x) {
        Objects.requireNonNull(op, "op must not be null");
        return host(ops.unary(op, input(x, "x")));
    }

    @Override
    public DeviceArray binary(BinaryOp op, DeviceArray a, DeviceArray b) {
        Objects.requireNonNull(op, "op must not be null");
        return host(ops.binary(op, input(a, "a"), input(b, "b")));
    }

    @Override
    public DeviceArray binary(BinaryOp op, DeviceArray a, double b) {
        Objects.requireNonNull(op, "op must not be null");
        return host(ops.binaryScalar(op, input(a, "a"), Scalar.of(b), false));
    }

    @Override
    public DeviceArray binary(BinaryOp op, double a, DeviceArray b) {
        Objects.requireNonNull(op, "op must not be null");
        return host(ops.binaryScalar(op, input(b, "b"), Scalar.of(a), true));
    }

    @Override
    public DeviceArray binary(BinaryOp op, DeviceArray a, long b) {
        Objects.requireNonNull(op, "op must not be null");
        return host(ops.binaryScalar(op, input(a, "a"), Scalar.of(b), false));
    }

    @Override
    public DeviceArray binary(BinaryOp op, long a, DeviceArray b) {
        Objects.requireNonNull(op, "op must not be null");
        return host(ops.binaryScalar(op, input(b, "b"), Scalar.of(a), true));
    }

    // ------------------------------------------------------------------ matrices, reductions, normalisation

    @Override
    public DeviceArray matmul(DeviceArray a, DeviceArray b) {
        return host(ops.matmul(input(a, "a"), input(b, "b"), views));
    }

    @Override
    public DeviceArray reduce(ReduceOp op, DeviceArray x) {
        Objects.requireNonNull(op, "op must not be null");
        return host(ops.reduce(op, input(x, "x"), null, false, views));
    }

    @Override
    public DeviceArray reduce(ReduceOp op, DeviceArray x, int axis) {
        Objects.requireNonNull(op, "op must not be null");
        return host(ops.reduce(op, input(x, "x"), new int[] {axis}, false, views));
    }

    @Override
    public DeviceArray reduce(ReduceOp op, DeviceArray x, int[] axes, boolean keepDims) {
        Objects.requireNonNull(op, "op must not be null");
        return host(ops.reduce(op, input(x, "x"), axes, keepDims, views));
    }

    @Override
    public DeviceArray softmax(DeviceArray x) {
        return softmax(x, -1);
    }

    @Override
    public DeviceArray softmax(DeviceArray x, int axis) {
        return host(ops.softmax(input(x, "x"), axis, false));
    }

    @Override
    public DeviceArray logSoftmax(DeviceArray x, int axis) {
        return host(ops.softmax(input(x, "x"), axis, true));
    }

    @Override
    public DeviceArray layerNorm(DeviceArray x, DeviceArray weight, DeviceArray bias, float epsilon) {
        return host(ops.layerNorm(input(x, "x"), optional(weight, "weight"), optional(bias, "bias"), epsilon, views));
    }

    @Override
    public DeviceArray rmsNorm(DeviceArray x, DeviceArray weight, float epsilon) {
        return host(ops.rmsNorm(input(x, "x"), optional(weight, "weight"), epsilon, views));
    }

    @Override
    public DeviceArray scaledDotProductAttention(
            DeviceArray q, DeviceArray k, DeviceArray v, DeviceArray mask, float scale) {
        return host(ops.attention(input(q, "q"), input(k, "k"), input(v, "v"), optional(mask, "mask"), scale));
    }

    private DeviceArray host(ArrayImpl a) {
        return new HostArray(this, a);
    }

    private ArrayImpl optional(DeviceArray array, String name) {
        return array == null ? null : input(array, name);
    }

    /** Checks an input argument on the caller's thread: bad input fails here and poisons nothing. */
    private ArrayImpl input(DeviceArray array, String name) {
        if (array == null) {
            throw new NullPointerException("input '" + name + "' must not be null");
        }
        if (!(array instanceof HostArray h) || h.array.owner.backend != owner.backend) {
            throw new IllegalArgumentException("input '" + name + "' belongs to another backend ("
                    + array.stream().backend().id() + " instance) than stream " + owner.id
                    + "; copy it with download/upload first");
        }
        if (h.array.closed) {
            throw new IllegalArgumentException("input '" + name + "' " + h.shape() + " was closed");
        }
        return h.array;
    }

    // ------------------------------------------------------------------ waiting and reading

    @Override
    public void eval(DeviceArray... arrays) {
        Objects.requireNonNull(arrays, "arrays must not be null");
        ArrayImpl[] own = new ArrayImpl[arrays.length];
        for (int i = 0; i < arrays.length; i++) {
            DeviceArray a = Objects.requireNonNull(arrays[i], "array " + i + " must not be null");
            if (!(a instanceof HostArray h) || h.array.owner != owner) {
                throw new IllegalArgumentException("array " + i + " belongs to stream "
                        + a.stream().id() + ", not " + owner.id + "; call eval on its own stream");
            }
            own[i] = h.array;
        }
        reads.eval(own);
    }

    @Override
    public void flush() {
        slot.enter();
        batcher.flush();
    }

    @Override
    public void synchronize() {
        reads.synchronize();
    }

    /** Reads an array of this stream into {@code target} after its producing work ended (user thread). */
    void read(ArrayImpl a, MemorySegment target) {
        reads.read(a, target);
    }

    @Override
    public void close() {
        StreamError unreported = owner.shutdown(null, owner.backend.settings().closeTimeout());
        if (unreported != null) {
            throw new StreamFailedException(unreported); // S13: the last chance to hear of it
        }
    }
}
