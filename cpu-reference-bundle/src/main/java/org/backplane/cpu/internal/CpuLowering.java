package org.backplane.cpu.internal;

import static org.backplane.cpu.internal.HostReads.floats;
import static org.backplane.cpu.internal.HostReads.longs;
import static org.backplane.cpu.internal.HostReads.truths;

import java.lang.foreign.MemorySegment;
import org.backplane.api.BinaryOp;
import org.backplane.api.DType;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.UnaryOp;
import org.backplane.cpu.internal.kernels.Cancel;
import org.backplane.cpu.internal.kernels.F32;
import org.backplane.cpu.internal.kernels.FastKernels;
import org.backplane.cpu.internal.kernels.Kernels;
import org.backplane.cpu.internal.memory.NativeBuffer;
import org.backplane.spi.Command;
import org.backplane.spi.DTypes;
import org.backplane.spi.EngineArray;
import org.backplane.spi.Op;
import org.backplane.spi.Scalar;
import org.backplane.spi.device.AttentionGeometry;

/**
 * Each op of the CPU backend lowered onto the fast kernels: one case per op. Floating-point work
 * runs in float32 (half-precision inputs widened, results rounded once when stored), straight into
 * the output's storage when it is float32; integer work in {@code long}, exactly; truth values as
 * bytes.
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
    public void run(Command c, Cancel cancel, Scratchpad pad) {
        EngineArray out = c.output();
        NativeBuffer result = HostReads.storage(out);
        switch (c.op()) {
            case Op.Fill f -> fill(f.value(), result);
            case Op.Unary u -> unary(u.op(), c.input(0), result, cancel, pad);
            case Op.Binary b -> binary(b.op(), c.input(0), c.input(1), out, result, cancel, pad);
            case Op.BinaryScalar b -> binaryScalar(b, c.input(0), out, result, cancel, pad);
            case Op.Where w -> where(c.input(0), c.input(1), c.input(2), out, result, pad);
            case Op.Cast k -> cast(c.input(0), result, pad);
            case Op.Copy k -> copy(c.input(0), result, pad);
            case Op.Matmul m -> matmul(c.input(0), c.input(1), out, result, cancel, pad);
            case Op.Reduce r -> reduce(r, c.input(0), result, cancel, pad);
            case Op.ArgReduce a -> argReduce(a, c.input(0), result, pad);
            case Op.Softmax s -> {
                MemorySegment into = floatsOut(result, pad);
                kernels.softmax(floats(c.input(0), pad), c.input(0).shape(), s.axis(), s.log(), into, cancel);
                finish(into, result);
            }
            case Op.LayerNorm n ->
                normalize(
                        c.input(0),
                        n.hasWeight() ? c.input(1) : null,
                        n.hasBias() ? c.input(n.hasWeight() ? 2 : 1) : null,
                        n.epsilon(),
                        true,
                        result,
                        cancel,
                        pad);
            case Op.RmsNorm n ->
                normalize(c.input(0), n.hasWeight() ? c.input(1) : null, null, n.epsilon(), false, result, cancel, pad);
            case Op.Take t -> take(c.input(0), c.input(1), t.axis(), result, pad);
            case Op.Cumsum s -> cumsum(c.input(0), s.axis(), result, pad);
            case Op.Concatenate k -> concatenate(c, k.axis(), result, pad);
            case Op.Attention a -> attention(c, a, result, cancel, pad);
        }
    }

    private void matmul(
            EngineArray a, EngineArray b, EngineArray out, NativeBuffer result, Cancel cancel, Scratchpad pad) {
        MemorySegment into = floatsOut(result, pad);
        Shape as = a.shape();
        long k = as.rank() == 0 ? 0 : as.dim(-1);
        long rows = k == 0 ? 0 : as.size() / k;
        Kernels.PackedOperand packed = kernels.runsPacked(rows, k) ? packedRight(b, k) : null;
        if (packed != null) {
            kernels.matmul(floats(a, pad), (int) rows, packed, into, cancel);
        } else {
            kernels.matmul(floats(a, pad), as, floats(b, pad), b.shape(), into, out.shape(), cancel);
        }
        finish(into, result);
    }

    /**
     * The right-hand side's panels packed once, for a float32 matrix that products read whole from its
     * own storage (a model's weights), kept beside the storage until it goes (its elements never
     * change): a product of few rows costs about as much as packing its B, which OpenBLAS does on
     * every call. Null for other operands, or once the packed copies hold their bound.
     */
    private Kernels.PackedOperand packedRight(EngineArray b, long k) {
        Shape s = b.shape();
        NativeBuffer storage = HostReads.storage(b);
        if (b.dtype() != DType.FLOAT32
                || s.rank() != 2
                || s.dim(0) != k
                || s.size() == 0
                || s.size() != storage.elements()
                || b.layout().offset() != 0
                || !HostReads.dense(s, b.layout())) {
            return null;
        }
        if (storage.derived() instanceof Kernels.PackedOperand p) {
            return p;
        }
        Kernels.PackedOperand mine = kernels.pack(storage.segment(), s.dim(0), s.dim(1));
        if (mine == null) {
            return null;
        }
        Object kept = storage.keepDerived(mine, () -> kernels.release(mine));
        if (kept != mine) {
            kernels.release(mine); // another stream packed it first
        }
        return (Kernels.PackedOperand) kept;
    }

    /** Where a float32 result goes: the output itself when it is float32, else scratch that {@link #finish} converts. */
    private static MemorySegment floatsOut(NativeBuffer result, Scratchpad pad) {
        return result.dtype() == DType.FLOAT32 ? result.segment() : pad.floats(result.elements());
    }

    /** Stores a float32 result computed into {@link #floatsOut} in the output's type. */
    private static void finish(MemorySegment values, NativeBuffer result) {
        if (result.dtype() != DType.FLOAT32) { // else the kernel wrote the output itself
            HostStores.storeFloats(values, result);
        }
    }

    // ---------------------------------------------------------------- elementwise

    private static void fill(Scalar value, NativeBuffer result) {
        DType type = result.dtype();
        int n = Math.toIntExact(result.elements());
        if (!type.isFloatingPoint()) {
            // Converted as a value, not wrapped: beyond the type's range it saturates, like a cast.
            long v = value.integral()
                    ? (type == DType.INT32
                            ? Math.clamp(value.integer(), Integer.MIN_VALUE, Integer.MAX_VALUE)
                            : value.integer())
                    : DTypes.toInteger(value.value(), type);
            long[] l = new long[n];
            java.util.Arrays.fill(l, v);
            HostStores.storeLongs(l, result);
            return;
        }
        float f = (float) (value.integral() ? (double) value.integer() : value.value());
        if (type == DType.FLOAT32) {
            F32.fill(result.segment(), 0, n, f);
            return;
        }
        short bits = type == DType.FLOAT16 ? Float.floatToFloat16(f) : DTypes.floatToBfloat16(f);
        MemorySegment dst = result.segment();
        for (long i = 0; i < n; i++) {
            dst.setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, i, bits);
        }
    }

    private void unary(UnaryOp op, EngineArray x, NativeBuffer result, Cancel cancel, Scratchpad pad) {
        if (op == UnaryOp.LOGICAL_NOT) {
            byte[] t = truths(x);
            long[] r = new long[t.length];
            for (int i = 0; i < t.length; i++) {
                r[i] = t[i] == 0 ? 1 : 0;
            }
            HostStores.storeLongs(r, result);
            return;
        }
        if (result.dtype().isFloatingPoint()) {
            MemorySegment into = floatsOut(result, pad);
            kernels.unary(op, floats(x, pad), into, Math.toIntExact(x.size()), cancel);
            finish(into, result);
            return;
        }
        HostStores.storeLongs(IntegerKernels.unary(op, longs(x)), result);
    }

    private void binary(
            BinaryOp op,
            EngineArray a,
            EngineArray b,
            EngineArray out,
            NativeBuffer result,
            Cancel cancel,
            Scratchpad pad) {
        DType compute = op.computeType(a.dtype(), b.dtype());
        if (compute.isFloatingPoint()) {
            MemorySegment into = floatsOut(result, pad);
            kernels.binary(
                    op,
                    floatsIn(a, compute, pad),
                    a.shape(),
                    floatsIn(b, compute, pad),
                    b.shape(),
                    into,
                    out.shape(),
                    cancel);
            finish(into, result);
            return;
        }
        long[] r = op.isLogical()
                ? IntegerKernels.binary(
                        op, asLongs(truths(a)), a.shape(), asLongs(truths(b)), b.shape(), out.shape(), cancel)
                : IntegerKernels.binary(op, longs(a), a.shape(), longs(b), b.shape(), out.shape(), cancel);
        HostStores.storeLongs(r, result);
    }

    private void binaryScalar(
            Op.BinaryScalar op, EngineArray x, EngineArray out, NativeBuffer result, Cancel cancel, Scratchpad pad) {
        Scalar s = op.scalar();
        DType weak = DTypes.scalarType(x.dtype(), s);
        DType compute = op.scalarFirst()
                ? op.op().computeType(weak, x.dtype())
                : op.op().computeType(x.dtype(), weak);
        Shape one = Shape.of();
        if (compute.isFloatingPoint()) {
            MemorySegment sv = MemorySegment.ofArray(new float[] {
                (float) DTypes.round(s.integral() ? (double) s.integer() : s.value(), compute)
            });
            MemorySegment xv = floatsIn(x, compute, pad);
            MemorySegment into = floatsOut(result, pad);
            if (op.scalarFirst()) {
                kernels.binary(op.op(), sv, one, xv, x.shape(), into, out.shape(), cancel);
            } else {
                kernels.binary(op.op(), xv, x.shape(), sv, one, into, out.shape(), cancel);
            }
            finish(into, result);
            return;
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
        HostStores.storeLongs(r, result);
    }

    private static void where(
            EngineArray condition, EngineArray a, EngineArray b, EngineArray out, NativeBuffer result, Scratchpad pad) {
        Shape shape = out.shape();
        byte[] c = truths(condition);
        int[] ic = IntegerKernels.broadcastOffsets(condition.shape(), shape);
        int[] ia = IntegerKernels.broadcastOffsets(a.shape(), shape);
        int[] ib = IntegerKernels.broadcastOffsets(b.shape(), shape);
        int n = Math.toIntExact(shape.size());
        if (out.dtype().isFloatingPoint()) {
            MemorySegment av = floatsIn(a, out.dtype(), pad);
            MemorySegment bv = floatsIn(b, out.dtype(), pad);
            MemorySegment into = floatsOut(result, pad);
            for (int i = 0; i < n; i++) {
                F32.set(
                        into,
                        i,
                        c[ic == null ? i : ic[i]] != 0
                                ? F32.get(av, ia == null ? i : ia[i])
                                : F32.get(bv, ib == null ? i : ib[i]));
            }
            finish(into, result);
            return;
        }
        long[] av = longs(a);
        long[] bv = longs(b);
        long[] r = new long[n];
        for (int i = 0; i < n; i++) {
            r[i] = c[ic == null ? i : ic[i]] != 0 ? av[ia == null ? i : ia[i]] : bv[ib == null ? i : ib[i]];
        }
        HostStores.storeLongs(r, result);
    }

    private static void cast(EngineArray x, NativeBuffer result, Scratchpad pad) {
        if (x.dtype().isFloatingPoint()) {
            HostStores.storeFloats(floats(x, pad), result);
        } else {
            HostStores.storeLongs(longs(x), result);
        }
    }

    private static void copy(EngineArray x, NativeBuffer result, Scratchpad pad) {
        MemorySegment.copy(HostReads.contiguous(x, pad), 0, result.segment(), 0, result.byteSize());
    }

    /** The values as float32, rounded to {@code compute} when that is narrower than their own type's. */
    private static MemorySegment floatsIn(EngineArray a, DType compute, Scratchpad pad) {
        MemorySegment f = floats(a, pad);
        if (compute == DType.FLOAT32 || a.dtype() == compute) {
            return f;
        }
        long n = F32.length(f);
        MemorySegment r = pad.floats(n);
        for (long i = 0; i < n; i++) {
            F32.set(r, i, (float) DTypes.round(F32.get(f, i), compute));
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

    private void reduce(Op.Reduce r, EngineArray x, NativeBuffer result, Cancel cancel, Scratchpad pad) {
        if (x.dtype().isFloatingPoint()) {
            MemorySegment into = floatsOut(result, pad);
            kernels.reduce(
                    r.op(),
                    floats(x, pad),
                    x.shape(),
                    r.all(),
                    r.axis(),
                    into,
                    Math.toIntExact(result.elements()),
                    cancel);
            finish(into, result);
            return;
        }
        Lines l = r.all() ? Lines.all(x) : Lines.of(x.shape(), r.axis());
        if (r.op() == ReduceOp.MEAN || r.op() == ReduceOp.VAR) {
            HostStores.storeFloats(IntegerKernels.moments(r.op(), longs(x), l.outer, l.length, l.inner), result);
            return;
        }
        HostStores.storeLongs(IntegerKernels.reduce(r.op(), longs(x), l.outer, l.length, l.inner), result);
    }

    private static void argReduce(Op.ArgReduce a, EngineArray x, NativeBuffer result, Scratchpad pad) {
        Lines l = Lines.of(x.shape(), a.axis());
        long[] r = x.dtype().isFloatingPoint()
                ? IntegerKernels.argReduce(a.max(), heapFloats(floats(x, pad)), l.outer, l.length, l.inner)
                : IntegerKernels.argReduce(a.max(), longs(x), l.outer, l.length, l.inner);
        HostStores.storeLongs(r, result);
    }

    private static void cumsum(EngineArray x, int axis, NativeBuffer result, Scratchpad pad) {
        Lines l = Lines.of(x.shape(), axis);
        if (x.dtype().isFloatingPoint()) {
            float[] r = IntegerKernels.cumsum(heapFloats(floats(x, pad)), l.outer, l.length, l.inner);
            HostStores.storeFloats(r, result);
        } else {
            HostStores.storeLongs(IntegerKernels.cumsum(longs(x), l.outer, l.length, l.inner), result);
        }
    }

    /** A float32 segment's values on the heap, for the few scans written on arrays. */
    private static float[] heapFloats(MemorySegment f) {
        return f.toArray(F32.LAYOUT);
    }

    private void normalize(
            EngineArray x,
            EngineArray weight,
            EngineArray bias,
            float epsilon,
            boolean center,
            NativeBuffer result,
            Cancel cancel,
            Scratchpad pad) {
        MemorySegment into = floatsOut(result, pad);
        kernels.normalize(
                floats(x, pad),
                Math.toIntExact(x.size()),
                x.shape().dim(-1),
                weight == null ? null : floats(weight, pad),
                bias == null ? null : floats(bias, pad),
                epsilon,
                center,
                into,
                cancel);
        finish(into, result);
    }

    // ---------------------------------------------------------------- indexing and joining

    private static void take(EngineArray x, EngineArray indices, int axis, NativeBuffer result, Scratchpad pad) {
        MemorySegment src = HostReads.contiguous(x, pad);
        MemorySegment dst = result.segment();
        long width = x.dtype().byteSize();
        long[] idx = longs(indices);
        Lines l = Lines.of(x.shape(), axis);
        long run = l.inner * width;
        long pos = 0;
        for (int o = 0; o < l.outer; o++) {
            for (long i : idx) {
                long k = i < 0 ? i + l.length : i;
                if (k < 0 || k >= l.length) {
                    throw new BadOpInputException("take index " + i + " is out of range for axis " + axis + " of "
                            + x.shape() + " (size " + l.length + ")");
                }
                MemorySegment.copy(src, (o * (long) l.length + k) * run, dst, pos, run);
                pos += run;
            }
        }
    }

    private static void concatenate(Command c, int axis, NativeBuffer result, Scratchpad pad) {
        EngineArray out = c.output();
        MemorySegment dst = result.segment();
        long width = out.dtype().byteSize();
        int outer = Lines.of(out.shape(), axis).outer;
        MemorySegment[] parts = new MemorySegment[c.inputCount()];
        for (int i = 0; i < parts.length; i++) {
            parts[i] = HostReads.contiguous(c.input(i), pad);
        }
        long pos = 0;
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < parts.length; i++) {
                long chunk = outer == 0 ? 0 : c.input(i).size() / outer * width;
                MemorySegment.copy(parts[i], o * chunk, dst, pos, chunk);
                pos += chunk;
            }
        }
    }

    // ---------------------------------------------------------------- attention

    /**
     * Straight from the inputs' storage where they are float32 (the kernels read strided heads views
     * as they lie); else composed from the kernels: scores in float32 (never rounded to a half type),
     * a masked softmax, the product with v.
     */
    private void attention(Command c, Op.Attention a, NativeBuffer result, Cancel cancel, Scratchpad pad) {
        AttentionGeometry g = AttentionGeometry.of(c);
        if (c.input(0).dtype() == DType.FLOAT32
                && c.input(1).dtype() == DType.FLOAT32
                && c.input(2).dtype() == DType.FLOAT32) {
            EngineArray m = a.hasMask() ? c.input(3) : null;
            MemorySegment into = floatsOut(result, pad);
            if (kernels.attention(
                    g,
                    HostReads.storage(c.input(0)).segment(),
                    HostReads.storage(c.input(1)).segment(),
                    HostReads.storage(c.input(2)).segment(),
                    m == null ? null : maskRows(m, g),
                    m != null && m.dtype() == DType.BOOL,
                    a.scale(),
                    into,
                    cancel)) {
                finish(into, result);
                return;
            }
        }
        composedAttention(c, a, g, result, cancel, pad);
    }

    /** A mask's rows as float32 (a boolean mask as 0 and 1), read through its broadcast layout. */
    private static FastKernels.MaskRows maskRows(EngineArray m, AttentionGeometry g) {
        return new StoredMask(HostReads.storage(m).segment(), g.mask(), m.dtype(), g);
    }

    /** The mask as stored; a padding mask ({@code [batch, 1, 1, lk]}) has one row for all query rows. */
    private record StoredMask(MemorySegment src, AttentionGeometry.Operand o, DType type, AttentionGeometry g)
            implements FastKernels.MaskRows {
        @Override
        public void read(long batch, int row, MemorySegment into) {
            long at = o.offset() + FastKernels.position(g.batch(), o.batchStrides(), batch) + row * o.rowStride();
            long cs = o.colStride();
            int lk = g.lk();
            if (type == DType.FLOAT32 && cs == 1) {
                F32.copy(src, at, into, 0, lk);
                return;
            }
            for (int j = 0; j < lk; j++) {
                long e = at + j * cs;
                F32.set(
                        into,
                        j,
                        switch (type) {
                            case BOOL -> src.get(java.lang.foreign.ValueLayout.JAVA_BYTE, e) != 0 ? 1f : 0f;
                            case FLOAT32 -> F32.get(src, e);
                            default -> (float) DTypes.read(src, type, e);
                        });
            }
        }

        @Override
        public boolean sameForEveryRow() {
            return o.rowStride() == 0;
        }
    }

    private void composedAttention(
            Command c, Op.Attention a, AttentionGeometry g, NativeBuffer result, Cancel cancel, Scratchpad pad) {
        int batch = Math.toIntExact(g.batchSize());
        int lq = g.lq();
        int d = g.d();
        int lk = g.lk();
        int dv = g.dv();
        // Each input gathered (through its strides, broadcast over the batch) into [batch, rows, cols].
        MemorySegment qv = operand(c.input(0), g, g.q(), lq, d, pad);
        MemorySegment kv = operand(c.input(1), g, g.k(), lk, d, pad);
        MemorySegment vv = operand(c.input(2), g, g.v(), lk, dv, pad);
        MemorySegment kt = pad.floats((long) batch * lk * d);
        kernels.transposeMatrices(kv, batch, lk, d, kt, cancel);
        Shape scoresShape = Shape.of(batch, lq, lk);
        long n = scoresShape.size();
        MemorySegment scores = pad.floats(n);
        kernels.matmul(qv, Shape.of(batch, lq, d), kt, Shape.of(batch, d, lk), scores, scoresShape, cancel);
        float scale = a.scale();
        if (a.hasMask()) {
            EngineArray m = c.input(3);
            MemorySegment mask = operand(m, g, g.mask(), lq, lk, pad);
            if (m.dtype() == DType.BOOL) {
                scaleKept(scores, mask, n, scale);
            } else {
                scaleAdded(scores, mask, n, scale);
            }
        } else {
            scale(scores, n, scale);
        }
        MemorySegment p = pad.floats(n);
        kernels.softmax(scores, scoresShape, 2, false, p, cancel);
        MemorySegment into = floatsOut(result, pad);
        kernels.matmul(p, scoresShape, vv, Shape.of(batch, lk, dv), into, Shape.of(batch, lq, dv), cancel);
        finish(into, result);
    }

    private static void scale(MemorySegment scores, long n, float scale) {
        for (long i = 0; i < n; i++) {
            F32.set(scores, i, F32.get(scores, i) * scale);
        }
    }

    /** A boolean mask: where it is false the score is minus infinity, so the softmax gives it no weight. */
    private static void scaleKept(MemorySegment scores, MemorySegment mask, long n, float scale) {
        for (long i = 0; i < n; i++) {
            F32.set(scores, i, F32.get(mask, i) != 0 ? F32.get(scores, i) * scale : Float.NEGATIVE_INFINITY);
        }
    }

    /** An additive mask, added after scaling. */
    private static void scaleAdded(MemorySegment scores, MemorySegment mask, long n, float scale) {
        for (long i = 0; i < n; i++) {
            F32.set(scores, i, F32.get(scores, i) * scale + F32.get(mask, i));
        }
    }

    private static MemorySegment operand(
            EngineArray x, AttentionGeometry g, AttentionGeometry.Operand o, int rows, int cols, Scratchpad pad) {
        return HostReads.floats(x, g.shape(rows, cols), AttentionGeometry.layout(o), pad);
    }
}
