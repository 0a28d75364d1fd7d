package org.backplane.cpu.internal;

import static org.backplane.cpu.internal.HostReads.floats;
import static org.backplane.cpu.internal.HostReads.longs;
import static org.backplane.cpu.internal.HostReads.truths;

import org.backplane.api.BinaryOp;
import org.backplane.api.DType;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.UnaryOp;
import org.backplane.cpu.internal.kernels.Cancel;
import org.backplane.cpu.internal.kernels.Kernels;
import org.backplane.spi.Command;
import org.backplane.spi.DTypes;
import org.backplane.spi.EngineArray;
import org.backplane.spi.Op;
import org.backplane.spi.Scalar;
import org.backplane.spi.device.AttentionGeometry;

/**
 * Each op of the CPU backend lowered onto the fast kernels: one case per op. Floating-point work
 * runs in float32 on {@code float[]} (half-precision inputs widened, results rounded once when
 * stored); integer work in {@code long}, exactly; truth values as bytes.
 */
final class CpuLowering implements CpuOps {
    private final Kernels kernels;

    CpuLowering(Kernels kernels) {
        this.kernels = kernels;
    }

    @Override
    public String name() {
        return kernels.name();
    }

    @Override
    public HostData run(Command c, Cancel cancel) {
        EngineArray out = c.output();
        DType type = out.dtype();
        return switch (c.op()) {
            case Op.Fill f -> fill(f.value(), type, Math.toIntExact(out.size()));
            case Op.Unary u -> unary(u.op(), c.input(0), type, cancel);
            case Op.Binary b -> binary(b.op(), c.input(0), c.input(1), out, cancel);
            case Op.BinaryScalar b -> binaryScalar(b, c.input(0), out, cancel);
            case Op.Where w -> where(c.input(0), c.input(1), c.input(2), out);
            case Op.Cast k -> cast(c.input(0), type);
            case Op.Copy k -> HostReads.copy(c.input(0));
            case Op.Matmul m ->
                HostData.ofFloats(
                        kernels.matmul(
                                floats(c.input(0)),
                                c.input(0).shape(),
                                floats(c.input(1)),
                                c.input(1).shape(),
                                out.shape(),
                                cancel),
                        type);
            case Op.Reduce r -> reduce(r, c.input(0), type, Math.toIntExact(out.size()), cancel);
            case Op.ArgReduce a -> argReduce(a, c.input(0));
            case Op.Softmax s ->
                HostData.ofFloats(
                        kernels.softmax(floats(c.input(0)), c.input(0).shape(), s.axis(), s.log(), cancel), type);
            case Op.LayerNorm n ->
                normalize(
                        c.input(0),
                        n.hasWeight() ? c.input(1) : null,
                        n.hasBias() ? c.input(n.hasWeight() ? 2 : 1) : null,
                        n.epsilon(),
                        true,
                        type,
                        cancel);
            case Op.RmsNorm n ->
                normalize(c.input(0), n.hasWeight() ? c.input(1) : null, null, n.epsilon(), false, type, cancel);
            case Op.Take t -> take(c.input(0), c.input(1), t.axis(), out);
            case Op.Cumsum s -> cumsum(c.input(0), s.axis(), type);
            case Op.Concatenate k -> concatenate(c, k.axis());
            case Op.Attention a -> attention(c, a, type, cancel);
        };
    }

    // ---------------------------------------------------------------- elementwise

    private static HostData fill(Scalar value, DType type, int n) {
        if (!type.isFloatingPoint()) {
            // Converted as a value, not wrapped: beyond the type's range it saturates, like a cast.
            long v = value.integral()
                    ? (type == DType.INT32
                            ? Math.clamp(value.integer(), Integer.MIN_VALUE, Integer.MAX_VALUE)
                            : value.integer())
                    : DTypes.toInteger(value.value(), type);
            long[] l = new long[n];
            java.util.Arrays.fill(l, v);
            return HostData.ofLongs(l, type);
        }
        float[] f = new float[n];
        java.util.Arrays.fill(f, (float) (value.integral() ? (double) value.integer() : value.value()));
        return HostData.ofFloats(f, type);
    }

    private HostData unary(UnaryOp op, EngineArray x, DType type, Cancel cancel) {
        if (op == UnaryOp.LOGICAL_NOT) {
            byte[] t = truths(x);
            byte[] r = new byte[t.length];
            for (int i = 0; i < t.length; i++) {
                r[i] = (byte) (1 - t[i]);
            }
            return new HostData(DType.BOOL, r);
        }
        if (type.isFloatingPoint()) {
            return HostData.ofFloats(kernels.unary(op, floats(x), cancel), type);
        }
        return HostData.ofLongs(IntegerKernels.unary(op, longs(x)), type);
    }

    private HostData binary(BinaryOp op, EngineArray a, EngineArray b, EngineArray out, Cancel cancel) {
        DType compute = op.computeType(a.dtype(), b.dtype());
        if (compute.isFloatingPoint()) {
            float[] r = kernels.binary(
                    op, floatsIn(a, compute), a.shape(), floatsIn(b, compute), b.shape(), out.shape(), cancel);
            return HostData.ofFloats(r, out.dtype());
        }
        long[] r = op.isLogical()
                ? IntegerKernels.binary(
                        op, asLongs(truths(a)), a.shape(), asLongs(truths(b)), b.shape(), out.shape(), cancel)
                : IntegerKernels.binary(op, longs(a), a.shape(), longs(b), b.shape(), out.shape(), cancel);
        return HostData.ofLongs(r, out.dtype());
    }

    private HostData binaryScalar(Op.BinaryScalar op, EngineArray x, EngineArray out, Cancel cancel) {
        Scalar s = op.scalar();
        DType weak = DTypes.scalarType(x.dtype(), s);
        DType compute = op.scalarFirst()
                ? op.op().computeType(weak, x.dtype())
                : op.op().computeType(x.dtype(), weak);
        Shape one = Shape.of();
        if (compute.isFloatingPoint()) {
            float[] sv = {(float) DTypes.round(s.integral() ? (double) s.integer() : s.value(), compute)};
            float[] xv = floatsIn(x, compute);
            float[] r = op.scalarFirst()
                    ? kernels.binary(op.op(), sv, one, xv, x.shape(), out.shape(), cancel)
                    : kernels.binary(op.op(), xv, x.shape(), sv, one, out.shape(), cancel);
            return HostData.ofFloats(r, out.dtype());
        }
        long[] sv = {
            op.op().isLogical()
                    ? DTypes.toInteger(s.integral() ? (double) s.integer() : s.value(), DType.BOOL)
                    : s.integer()
        };
        long[] xv = op.op().isLogical() ? asLongs(truths(x)) : longs(x);
        long[] r = op.scalarFirst()
                ? IntegerKernels.binary(op.op(), sv, one, xv, x.shape(), out.shape(), cancel)
                : IntegerKernels.binary(op.op(), xv, x.shape(), sv, one, out.shape(), cancel);
        return HostData.ofLongs(r, out.dtype());
    }

    private static HostData where(EngineArray condition, EngineArray a, EngineArray b, EngineArray out) {
        Shape shape = out.shape();
        byte[] c = truths(condition);
        int[] ic = IntegerKernels.broadcastOffsets(condition.shape(), shape);
        int[] ia = IntegerKernels.broadcastOffsets(a.shape(), shape);
        int[] ib = IntegerKernels.broadcastOffsets(b.shape(), shape);
        int n = Math.toIntExact(shape.size());
        if (out.dtype().isFloatingPoint()) {
            float[] av = floatsIn(a, out.dtype());
            float[] bv = floatsIn(b, out.dtype());
            float[] r = new float[n];
            for (int i = 0; i < n; i++) {
                r[i] = c[ic == null ? i : ic[i]] != 0 ? av[ia == null ? i : ia[i]] : bv[ib == null ? i : ib[i]];
            }
            return HostData.ofFloats(r, out.dtype());
        }
        long[] av = longs(a);
        long[] bv = longs(b);
        long[] r = new long[n];
        for (int i = 0; i < n; i++) {
            r[i] = c[ic == null ? i : ic[i]] != 0 ? av[ia == null ? i : ia[i]] : bv[ib == null ? i : ib[i]];
        }
        return HostData.ofLongs(r, out.dtype());
    }

    private static HostData cast(EngineArray x, DType type) {
        return x.dtype().isFloatingPoint() ? HostData.ofFloats(floats(x), type) : HostData.ofLongs(longs(x), type);
    }

    /** The values as floats, rounded to {@code compute} when that is narrower than their own type's. */
    private static float[] floatsIn(EngineArray a, DType compute) {
        float[] f = floats(a);
        if (compute == DType.FLOAT32 || a.dtype() == compute) {
            return f;
        }
        float[] r = new float[f.length];
        for (int i = 0; i < f.length; i++) {
            r[i] = (float) DTypes.round(f[i], compute);
        }
        return r;
    }

    private static long[] asLongs(byte[] truths) {
        long[] l = new long[truths.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = truths[i];
        }
        return l;
    }

    // ---------------------------------------------------------------- reductions and scans

    /** A contiguous array seen as {@code outer} lines of {@code length} elements {@code inner} apart, along {@code axis}. */
    private record Lines(int outer, int length, int inner) {
        static Lines of(Shape s, int axis) {
            int outer = 1;
            for (int i = 0; i < axis; i++) {
                outer *= s.dim(i);
            }
            int inner = 1;
            for (int i = axis + 1; i < s.rank(); i++) {
                inner *= s.dim(i);
            }
            return new Lines(outer, s.rank() == 0 ? 1 : s.dim(axis), inner);
        }

        static Lines all(EngineArray x) {
            return new Lines(1, Math.toIntExact(x.size()), 1);
        }
    }

    private HostData reduce(Op.Reduce r, EngineArray x, DType type, int outSize, Cancel cancel) {
        if (x.dtype().isFloatingPoint()) {
            return HostData.ofFloats(
                    kernels.reduce(r.op(), floats(x), x.shape(), r.all(), r.axis(), outSize, cancel), type);
        }
        Lines l = r.all() ? Lines.all(x) : Lines.of(x.shape(), r.axis());
        if (r.op() == ReduceOp.MEAN || r.op() == ReduceOp.VAR) {
            return HostData.ofFloats(IntegerKernels.moments(r.op(), longs(x), l.outer, l.length, l.inner), type);
        }
        return HostData.ofLongs(IntegerKernels.reduce(r.op(), longs(x), l.outer, l.length, l.inner), type);
    }

    private static HostData argReduce(Op.ArgReduce a, EngineArray x) {
        Lines l = Lines.of(x.shape(), a.axis());
        long[] r = x.dtype().isFloatingPoint()
                ? IntegerKernels.argReduce(a.max(), floats(x), l.outer, l.length, l.inner)
                : IntegerKernels.argReduce(a.max(), longs(x), l.outer, l.length, l.inner);
        return new HostData(DType.INT64, r);
    }

    private static HostData cumsum(EngineArray x, int axis, DType type) {
        Lines l = Lines.of(x.shape(), axis);
        return x.dtype().isFloatingPoint()
                ? HostData.ofFloats(IntegerKernels.cumsum(floats(x), l.outer, l.length, l.inner), type)
                : HostData.ofLongs(IntegerKernels.cumsum(longs(x), l.outer, l.length, l.inner), type);
    }

    private HostData normalize(
            EngineArray x,
            EngineArray weight,
            EngineArray bias,
            float epsilon,
            boolean center,
            DType type,
            Cancel cancel) {
        float[] r = kernels.normalize(
                floats(x),
                x.shape().dim(-1),
                weight == null ? null : floats(weight),
                bias == null ? null : floats(bias),
                epsilon,
                center,
                cancel);
        return HostData.ofFloats(r, type);
    }

    // ---------------------------------------------------------------- indexing and joining

    private static HostData take(EngineArray x, EngineArray indices, int axis, EngineArray out) {
        Object src = HostReads.copy(x).array();
        long[] idx = longs(indices);
        Lines l = Lines.of(x.shape(), axis);
        HostData result = HostData.allocate(x.dtype(), Math.toIntExact(out.size()));
        int pos = 0;
        for (int o = 0; o < l.outer; o++) {
            for (long i : idx) {
                long k = i < 0 ? i + l.length : i;
                if (k < 0 || k >= l.length) {
                    throw new BadOpInputException("take index " + i + " is out of range for axis " + axis + " of "
                            + x.shape() + " (size " + l.length + ")");
                }
                System.arraycopy(src, (int) ((o * (long) l.length + k) * l.inner), result.array(), pos, l.inner);
                pos += l.inner;
            }
        }
        return result;
    }

    private static HostData concatenate(Command c, int axis) {
        EngineArray out = c.output();
        HostData result = HostData.allocate(out.dtype(), Math.toIntExact(out.size()));
        int outer = Lines.of(out.shape(), axis).outer;
        int pos = 0;
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < c.inputCount(); i++) {
                EngineArray part = c.input(i);
                int chunk = outer == 0 ? 0 : Math.toIntExact(part.size() / outer);
                System.arraycopy(HostReads.copy(part).array(), o * chunk, result.array(), pos, chunk);
                pos += chunk;
            }
        }
        return result;
    }

    // ---------------------------------------------------------------- attention

    /** Composed from the kernels: scores in float32 (never rounded to a half type), a masked softmax, the product with v. */
    private HostData attention(Command c, Op.Attention a, DType type, Cancel cancel) {
        AttentionGeometry g = AttentionGeometry.of(c);
        int batch = Math.toIntExact(g.batchSize());
        int lq = g.lq();
        int d = g.d();
        int lk = g.lk();
        int dv = g.dv();
        // Each input gathered (through its strides, broadcast over the batch) into [batch, rows, cols].
        float[] qv = operand(c.input(0), g, g.q(), lq, d);
        float[] kv = operand(c.input(1), g, g.k(), lk, d);
        float[] vv = operand(c.input(2), g, g.v(), lk, dv);
        float[] kt = kernels.transposeMatrices(kv, batch, lk, d, cancel);
        Shape scoresShape = Shape.of(batch, lq, lk);
        float[] scores = kernels.matmul(qv, Shape.of(batch, lq, d), kt, Shape.of(batch, d, lk), scoresShape, cancel);
        float scale = a.scale();
        if (a.hasMask()) {
            EngineArray m = c.input(3);
            float[] mask = operand(m, g, g.mask(), lq, lk);
            boolean keep = m.dtype() == DType.BOOL;
            for (int i = 0; i < scores.length; i++) {
                scores[i] = keep
                        ? (mask[i] != 0 ? scores[i] * scale : Float.NEGATIVE_INFINITY)
                        : scores[i] * scale + mask[i];
            }
        } else {
            for (int i = 0; i < scores.length; i++) {
                scores[i] *= scale;
            }
        }
        float[] p = kernels.softmax(scores, scoresShape, 2, false, cancel);
        float[] r = kernels.matmul(p, scoresShape, vv, Shape.of(batch, lk, dv), Shape.of(batch, lq, dv), cancel);
        return HostData.ofFloats(r, type);
    }

    private static float[] operand(
            EngineArray x, AttentionGeometry g, AttentionGeometry.Operand o, int rows, int cols) {
        return HostReads.floats(x, g.shape(rows, cols), AttentionGeometry.layout(o));
    }
}
