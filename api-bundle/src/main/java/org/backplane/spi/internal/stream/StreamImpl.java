package org.backplane.spi.internal.stream;

import java.lang.foreign.MemorySegment;
import java.nio.FloatBuffer;
import java.util.Objects;
import org.backplane.api.BinaryOp;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.StaleGenerationException;
import org.backplane.api.StreamId;
import org.backplane.api.StreamInterruptedException;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.UnaryOp;
import org.backplane.spi.EngineFailure;
import org.backplane.spi.ErrorScope;
import org.backplane.spi.Op;
import org.backplane.spi.Shapes;

/**
 * The {@link ComputeStream} a host holds: the API and nothing else. Each op is checked here, on the
 * caller's thread (bad input fails at once and poisons nothing), and handed to the batcher; reads,
 * {@code eval} and {@code synchronize} wait for work and throw what the contract says they see.
 */
final class StreamImpl implements ComputeStream {
    final Stream owner;
    private final StreamSlot slot;
    private final Batcher batcher;

    StreamImpl(Stream owner) {
        this.owner = owner;
        this.slot = owner.slot;
        this.batcher = owner.batcher;
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
            throw new IllegalArgumentException(
                    "segment of " + data.byteSize() + " bytes does not hold whole float32 values");
        }
        return uploadSegment(data, data.byteSize() / Float.BYTES, shape);
    }

    private DeviceArray uploadSegment(MemorySegment data, long elements, int[] dims) {
        Shape shape = Shape.of(dims);
        if (elements != shape.size()) {
            throw new IllegalArgumentException(
                    "data holds " + elements + " floats but shape " + shape + " needs " + shape.size());
        }
        owner.backend.checkCapacity(shape, DType.FLOAT32);
        Generation g = slot.enter();
        ArrayImpl out = new ArrayImpl(owner, g, shape, DType.FLOAT32, null);
        try {
            owner.engine().upload(out, data);
        } catch (EngineFailure e) {
            throw report(g, e);
        }
        return new HostArray(out);
    }

    /** An engine failure met on the caller's thread: captured with its scope and reported at once (S3). */
    private RuntimeException report(Generation g, EngineFailure e) {
        slot.capture(g, e.error());
        if (e.scope() == ErrorScope.DEVICE) {
            owner.backend.deviceLost(e.error());
        }
        return slot.refusal(g);
    }

    @Override
    public DeviceArray full(float value, int... shape) {
        return submit(new Op.Fill(value), Shape.of(shape));
    }

    // ------------------------------------------------------------------ ops

    @Override
    public DeviceArray unary(UnaryOp op, DeviceArray x) {
        Objects.requireNonNull(op, "op must not be null");
        ArrayImpl a = input(x, "x");
        return submit(new Op.Unary(op), a.shape(), a);
    }

    @Override
    public DeviceArray binary(BinaryOp op, DeviceArray a, DeviceArray b) {
        Objects.requireNonNull(op, "op must not be null");
        ArrayImpl x = input(a, "a");
        ArrayImpl y = input(b, "b");
        return submit(new Op.Binary(op), Shapes.broadcast(x.shape(), y.shape()), x, y);
    }

    @Override
    public DeviceArray matmul(DeviceArray a, DeviceArray b) {
        ArrayImpl x = input(a, "a");
        ArrayImpl y = input(b, "b");
        return submit(new Op.Matmul(), Shapes.matmul(x.shape(), y.shape()), x, y);
    }

    @Override
    public DeviceArray transpose(DeviceArray x) {
        ArrayImpl a = input(x, "x");
        int[] perm = Shapes.permutation(a.shape(), null);
        return submit(new Op.Transpose(perm), Shapes.permute(a.shape(), perm), a);
    }

    @Override
    public DeviceArray transpose(DeviceArray x, int... axes) {
        ArrayImpl a = input(x, "x");
        Objects.requireNonNull(axes, "axes must not be null");
        int[] perm = Shapes.permutation(a.shape(), axes);
        return submit(new Op.Transpose(perm), Shapes.permute(a.shape(), perm), a);
    }

    @Override
    public DeviceArray reduce(ReduceOp op, DeviceArray x) {
        Objects.requireNonNull(op, "op must not be null");
        ArrayImpl a = input(x, "x");
        return submit(new Op.Reduce(op, true, 0), Shapes.reduceAll(op, a.shape()), a);
    }

    @Override
    public DeviceArray reduce(ReduceOp op, DeviceArray x, int axis) {
        Objects.requireNonNull(op, "op must not be null");
        ArrayImpl a = input(x, "x");
        Shape out = Shapes.reduce(op, a.shape(), axis);
        return submit(new Op.Reduce(op, false, a.shape().normalizeAxis(axis)), out, a);
    }

    @Override
    public DeviceArray softmax(DeviceArray x) {
        ArrayImpl a = input(x, "x");
        return submit(new Op.Softmax(), Shapes.softmax(a.shape()), a);
    }

    private DeviceArray submit(Op op, Shape outShape, ArrayImpl... inputs) {
        return new HostArray(batcher.submit(op, outShape, DType.FLOAT32, inputs));
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
        Generation g = slot.enter();
        for (ArrayImpl a : own) {
            checkCurrent(a, g);
        }
        batcher.flush();
        for (ArrayImpl a : own) {
            awaitArray(a);
            slot.finishAwait(a.generation, a.producer, "eval");
        }
    }

    @Override
    public void flush() {
        slot.enter();
        batcher.flush();
    }

    @Override
    public void synchronize() {
        Generation g = slot.enter();
        long target = batcher.flush();
        if (!slot.waiters.await(() -> g.completedSequence >= target
                || g.first != null
                || slot.current() != g
                || (g.isClosingOrClosed() && g.inFlight.get() == 0))) {
            throw new StreamInterruptedException(owner.id, "synchronize");
        }
        slot.finishAwait(g, null, "synchronize");
    }

    /** Reads an array of this stream into {@code target} after its producing work ended (user thread). */
    void read(ArrayImpl a, MemorySegment target) {
        if (a.closed) {
            throw new IllegalStateException("array " + a.shape() + " of stream " + owner.id + " was closed");
        }
        Generation g = slot.current();
        if (g.state != Generation.ACTIVE && !(g.isClosingOrClosed() && a.generation == g)) {
            slot.enterSlow();
        }
        checkCurrent(a, slot.current());
        batcher.commitIfOpen(a.producer);
        awaitArray(a);
        slot.finishAwait(a.generation, a.producer, "array read");
        try {
            owner.engine().download(a, target);
        } catch (EngineFailure e) {
            throw report(a.generation, e);
        }
    }

    private void checkCurrent(ArrayImpl a, Generation g) {
        if (a.generation != g) {
            throw new StaleGenerationException(
                    owner.id, "Array " + a.shape(), a.generation.number, g.number, a.generation.first);
        }
    }

    private void awaitArray(ArrayImpl a) {
        if (!slot.waiters.await(a::isSettled)) {
            throw new StreamInterruptedException(owner.id, "array " + a.shape());
        }
    }

    @Override
    public void close() {
        owner.shutdown(null, owner.backend.settings().closeTimeout());
    }
}
