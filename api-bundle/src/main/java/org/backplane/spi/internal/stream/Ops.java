package org.backplane.spi.internal.stream;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.backplane.api.BinaryOp;
import org.backplane.api.DType;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.StaleGenerationException;
import org.backplane.api.UnaryOp;
import org.backplane.spi.ArrayLayout;
import org.backplane.spi.DTypes;
import org.backplane.spi.Op;
import org.backplane.spi.Scalar;
import org.backplane.spi.Shapes;
import org.backplane.spi.ViewShapes;

/**
 * Assembles ops on the caller's thread: checks shapes and types (bad input fails here and poisons
 * nothing), gives each op its output shape and type by the rules of {@code DType}, and hands the
 * engine inputs in the form the op needs: elementwise ops take strided views as they are; every
 * other op gets contiguous inputs of the type it computes in (a {@link Op.Copy} or {@link Op.Cast}
 * is queued first where needed).
 */
final class Ops {
    private final StreamSlot slot;
    private final Batcher batcher;

    Ops(StreamSlot slot, Batcher batcher) {
        this.slot = slot;
        this.batcher = batcher;
    }

    ArrayImpl submit(Op op, Shape shape, DType type, ArrayImpl... inputs) {
        return batcher.submit(op, shape, type, inputs);
    }

    /** A view: the user's call is an entry on this stream (S3, S4), but queues nothing. */
    ArrayImpl view(ArrayImpl x, Shape shape, ArrayLayout layout) {
        slot.enter();
        Generation current = x.owner.slot.current();
        if (x.generation != current) {
            throw new StaleGenerationException(
                    x.owner.id, "Array " + x.shape(), x.generation.number, current.number, x.generation.first);
        }
        return x.view(shape, layout);
    }

    ArrayImpl contiguous(ArrayImpl x) {
        return x.isRowMajor() ? x : submit(new Op.Copy(), x.shape(), x.dtype(), x);
    }

    ArrayImpl cast(ArrayImpl x, DType type) {
        return x.dtype() == type ? x : submit(new Op.Cast(), x.shape(), type, x);
    }

    /** {@code x} contiguous, in {@code type}. */
    private ArrayImpl prepared(ArrayImpl x, DType type) {
        return x.dtype() == type ? contiguous(x) : cast(x, type);
    }

    private static DType floating(DType t) {
        return t.isFloatingPoint() ? t : DType.FLOAT32;
    }

    // ------------------------------------------------------------------ elementwise

    ArrayImpl fill(DType type, Scalar value, Shape shape) {
        return submit(new Op.Fill(value), shape, type);
    }

    ArrayImpl unary(UnaryOp op, ArrayImpl x) {
        return submit(new Op.Unary(op), x.shape(), op.resultType(x.dtype()), x);
    }

    ArrayImpl binary(BinaryOp op, ArrayImpl a, ArrayImpl b) {
        return submit(
                new Op.Binary(op), Shapes.broadcast(a.shape(), b.shape()), op.resultType(a.dtype(), b.dtype()), a, b);
    }

    ArrayImpl binaryScalar(BinaryOp op, ArrayImpl x, Scalar scalar, boolean scalarFirst) {
        DType weak = DTypes.scalarType(x.dtype(), scalar);
        DType result = scalarFirst ? op.resultType(weak, x.dtype()) : op.resultType(x.dtype(), weak);
        return submit(new Op.BinaryScalar(op, scalar, scalarFirst), x.shape(), result, x);
    }

    ArrayImpl where(ArrayImpl condition, ArrayImpl a, ArrayImpl b) {
        Shape shape = Shapes.broadcast(Shapes.broadcast(condition.shape(), a.shape()), b.shape());
        return submit(new Op.Where(), shape, DType.promote(a.dtype(), b.dtype()), condition, a, b);
    }

    // ------------------------------------------------------------------ matrices and reductions

    ArrayImpl matmul(ArrayImpl a, ArrayImpl b, Views views) {
        if (!a.dtype().isFloatingPoint() || !b.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("matmul takes floating-point arrays, but got "
                    + a.dtype().id() + " and " + b.dtype().id() + "; convert them with astype");
        }
        Shape out = Shapes.matmul(a.shape(), b.shape());
        DType type = DType.promote(a.dtype(), b.dtype());
        Shape batch = Shapes.batchOf(out);
        return submit(
                new Op.Matmul(),
                out,
                type,
                prepared(wholeBatch(a, batch, views), type),
                prepared(wholeBatch(b, batch, views), type));
    }

    /**
     * A matmul operand whose batch is one matrix or the output's whole batch, as engines take it: an
     * operand broadcast along some batch axes only is expanded (a view, copied by {@code prepared}).
     */
    private static ArrayImpl wholeBatch(ArrayImpl x, Shape batch, Views views) {
        long own = Shapes.batchOf(x.shape()).size();
        if (own == 1 || own == batch.size()) {
            return x; // broadcasting the batch added no elements: the layout is the whole batch's
        }
        int[] dims = Arrays.copyOf(batch.dims(), batch.rank() + 2);
        dims[batch.rank()] = x.shape().dim(-2);
        dims[batch.rank() + 1] = x.shape().dim(-1);
        return views.broadcastTo(x, dims);
    }

    ArrayImpl reduce(ReduceOp op, ArrayImpl x, int[] axes, boolean keepDims, Views views) {
        int[] normal = Shapes.reductionAxes(op, x.shape(), axes);
        Shape out = Shapes.reduced(x.shape(), normal, keepDims);
        DType type = op.resultType(x.dtype());
        int rank = x.shape().rank();
        if (normal.length == rank) {
            return submit(new Op.Reduce(op, 0, true), out, type, contiguous(x));
        }
        if (normal.length == 1) {
            return submit(new Op.Reduce(op, normal[0], false), out, type, contiguous(x));
        }
        // Several axes: bring them together (a transpose view, copied), merge them, reduce once.
        int[] order = new int[rank];
        int j = 0;
        for (int i = 0; i < rank; i++) {
            if (Arrays.binarySearch(normal, i) < 0) {
                order[j++] = i;
            }
        }
        for (int a : normal) {
            order[j++] = a;
        }
        ArrayImpl moved = views.transpose(x, order);
        int[] merged = new int[rank - normal.length + 1];
        for (int i = 0; i < merged.length - 1; i++) {
            merged[i] = moved.shape().dim(i);
        }
        int length = 1;
        for (int a : normal) {
            length *= x.shape().dim(a);
        }
        merged[merged.length - 1] = length;
        ArrayImpl flat = views.reshape(contiguous(moved), merged);
        ArrayImpl reduced = submit(
                new Op.Reduce(op, merged.length - 1, false),
                Shapes.reduced(flat.shape(), new int[] {merged.length - 1}, false),
                type,
                flat);
        return views.reshape(reduced, out.dims());
    }

    ArrayImpl argReduce(boolean max, ArrayImpl x, int axis, boolean keepDims) {
        int a = x.shape().normalizeAxis(axis);
        if (x.shape().dim(a) == 0) {
            throw new IllegalArgumentException(
                    (max ? "argmax" : "argmin") + " over the empty axis " + axis + " of " + x.shape());
        }
        Shape out = Shapes.reduced(x.shape(), new int[] {a}, keepDims);
        return submit(new Op.ArgReduce(max, a), out, DType.INT64, contiguous(x));
    }

    ArrayImpl softmax(ArrayImpl x, int axis, boolean log) {
        Shapes.softmax(x.shape());
        int a = x.shape().normalizeAxis(axis);
        DType type = floating(x.dtype());
        return submit(new Op.Softmax(a, log), x.shape(), type, prepared(x, type));
    }

    ArrayImpl cumsum(ArrayImpl x, int axis) {
        int a = x.shape().normalizeAxis(axis);
        return submit(new Op.Cumsum(a), x.shape(), ReduceOp.SUM.resultType(x.dtype()), contiguous(x));
    }

    ArrayImpl layerNorm(ArrayImpl x, ArrayImpl weight, ArrayImpl bias, float epsilon, Views views) {
        DType type = normalised(x, "layerNorm", epsilon);
        List<ArrayImpl> inputs = new ArrayList<>(List.of(prepared(x, type)));
        if (weight != null) {
            inputs.add(parameter(weight, x, type, "weight", views));
        }
        if (bias != null) {
            inputs.add(parameter(bias, x, type, "bias", views));
        }
        return submit(
                new Op.LayerNorm(epsilon, weight != null, bias != null),
                x.shape(),
                type,
                inputs.toArray(ArrayImpl[]::new));
    }

    ArrayImpl rmsNorm(ArrayImpl x, ArrayImpl weight, float epsilon, Views views) {
        DType type = normalised(x, "rmsNorm", epsilon);
        if (weight == null) {
            return submit(new Op.RmsNorm(epsilon, false), x.shape(), type, prepared(x, type));
        }
        return submit(
                new Op.RmsNorm(epsilon, true),
                x.shape(),
                type,
                prepared(x, type),
                parameter(weight, x, type, "weight", views));
    }

    private static DType normalised(ArrayImpl x, String what, float epsilon) {
        if (x.shape().rank() == 0) {
            throw new IllegalArgumentException(what + " needs at least one axis, but got a scalar");
        }
        if (!(epsilon >= 0) || Float.isInfinite(epsilon)) {
            throw new IllegalArgumentException(what + " epsilon must be a finite non-negative number, not " + epsilon);
        }
        return floating(x.dtype());
    }

    /** A norm's weight or bias: a vector of the last axis's length (leading size-1 axes allowed). */
    private ArrayImpl parameter(ArrayImpl p, ArrayImpl x, DType type, String name, Views views) {
        int d = x.shape().dim(-1);
        if (p.shape().rank() == 0 || p.shape().dim(-1) != d || p.shape().size() != d) {
            throw new IllegalArgumentException(name + " " + p.shape() + " must be a vector of the last axis's length "
                    + d + " (normalising " + x.shape() + ")");
        }
        return prepared(p.shape().rank() == 1 ? p : views.reshape(p, new int[] {d}), type);
    }

    ArrayImpl take(ArrayImpl x, ArrayImpl indices, int axis) {
        if (!indices.dtype().isInteger()) {
            throw new IllegalArgumentException("take indices must be int32 or int64, but got "
                    + indices.dtype().id());
        }
        int a = x.shape().normalizeAxis(axis);
        if (x.shape().dim(a) == 0 && indices.shape().size() > 0) {
            throw new IllegalArgumentException(
                    "take from the empty axis " + axis + " of " + x.shape() + ": every index is out of range");
        }
        return submit(
                new Op.Take(a),
                ViewShapes.take(x.shape(), indices.shape(), a),
                x.dtype(),
                contiguous(x),
                contiguous(indices));
    }

    ArrayImpl concatenate(List<ArrayImpl> arrays, int axis) {
        List<Shape> shapes = new ArrayList<>();
        DType type = arrays.getFirst().dtype();
        for (ArrayImpl a : arrays) {
            shapes.add(a.shape());
            type = DType.promote(type, a.dtype());
        }
        Shape out = ViewShapes.concatenate(shapes, axis);
        int a = arrays.getFirst().shape().normalizeAxis(axis);
        ArrayImpl[] inputs = new ArrayImpl[arrays.size()];
        for (int i = 0; i < inputs.length; i++) {
            inputs[i] = prepared(arrays.get(i), type);
        }
        return submit(new Op.Concatenate(a), out, type, inputs);
    }

    ArrayImpl attention(ArrayImpl q, ArrayImpl k, ArrayImpl v, ArrayImpl mask, float scale) {
        for (ArrayImpl t : new ArrayImpl[] {q, k, v}) {
            if (t.shape().rank() < 2) {
                throw new IllegalArgumentException("attention takes q, k, v of rank 2 or more, but got " + t.shape());
            }
        }
        int lq = q.shape().dim(-2);
        int d = q.shape().dim(-1);
        int lk = k.shape().dim(-2);
        int dv = v.shape().dim(-1);
        if (k.shape().dim(-1) != d) {
            throw new IllegalArgumentException(
                    "attention: q " + q.shape() + " and k " + k.shape() + " differ in their last axis");
        }
        if (v.shape().dim(-2) != lk) {
            throw new IllegalArgumentException(
                    "attention: k " + k.shape() + " and v " + v.shape() + " differ in length (axis -2)");
        }
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("attention scale must be finite, not " + scale);
        }
        Shape batch = Shapes.broadcast(
                Shapes.broadcast(Shapes.batchOf(q.shape()), Shapes.batchOf(k.shape())), Shapes.batchOf(v.shape()));
        DType type = DType.promote(DType.promote(floating(q.dtype()), floating(k.dtype())), floating(v.dtype()));
        int[] outDims = Arrays.copyOf(batch.dims(), batch.rank() + 2);
        outDims[batch.rank()] = lq;
        outDims[batch.rank() + 1] = dv;
        // Views are passed as they are (a fused kernel reads them through their strides): only a
        // change of type makes a copy.
        if (mask == null) {
            return submit(
                    new Op.Attention(scale, false),
                    Shape.of(outDims),
                    type,
                    cast(q, type),
                    cast(k, type),
                    cast(v, type));
        }
        if (mask.dtype().isInteger()) {
            throw new IllegalArgumentException("attention mask must be bool (keep where true) or floating (added), not "
                    + mask.dtype().id());
        }
        int[] scoreDims = Arrays.copyOf(batch.dims(), batch.rank() + 2);
        scoreDims[batch.rank()] = lq;
        scoreDims[batch.rank() + 1] = lk;
        ViewShapes.broadcastTo(mask.shape(), Shape.of(scoreDims)); // the mask must broadcast to the scores
        DType maskType = mask.dtype() == DType.BOOL ? DType.BOOL : type;
        return submit(
                new Op.Attention(scale, true),
                Shape.of(outDims),
                type,
                cast(q, type),
                cast(k, type),
                cast(v, type),
                cast(mask, maskType));
    }
}
