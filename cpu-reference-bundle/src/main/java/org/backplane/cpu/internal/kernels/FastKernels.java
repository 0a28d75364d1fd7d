package org.backplane.cpu.internal.kernels;

import java.util.Arrays;
import org.backplane.api.BinaryOp;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.UnaryOp;
import org.backplane.spi.Shapes;

/**
 * The CPU backend's fast path: cache-blocked, multi-threaded, vectorized kernels. Arithmetic loops
 * are written so that the JIT vectorizes them (one op per loop, no calls, unit stride); the rest goes
 * through {@link Simd}. Large ops are split over the compute pool. Checked against the reference
 * path by the tests; it never checks itself.
 */
public final class FastKernels implements Kernels {
    /** Elementwise ops on fewer elements than this run on the calling thread alone. */
    static final int PARALLEL_ELEMENTS = 1 << 17;
    /** Elements per parallel chunk of an elementwise op. */
    static final int CHUNK = 1 << 15;

    private final Simd simd;
    private final Parallel parallel;
    private final Gemm gemm;

    FastKernels(Simd simd, Parallel parallel) {
        this.simd = simd;
        this.parallel = parallel;
        this.gemm = new Gemm(simd, parallel);
    }

    /**
     * Fast kernels on the Vector API if {@code useVectorApi} and the runtime provides
     * {@code jdk.incubator.vector}, else on portable scalar loops.
     */
    public static FastKernels create(Parallel parallel, boolean useVectorApi) {
        boolean vector = useVectorApi && VectorAvailability.available();
        return new FastKernels(vector ? VectorAvailability.newVectorSimd() : new ScalarSimd(useVectorApi), parallel);
    }

    /** Which SIMD implementation runs, for device details. */
    public String simdDescription() {
        return simd.description();
    }

    @Override
    public String name() {
        return simd instanceof ScalarSimd ? "scalar" : "fast";
    }

    // ---------------------------------------------------------------- fill and unary

    @Override
    public float[] fill(float value, Shape shape, Cancel cancel) {
        float[] out = new float[Math.toIntExact(shape.size())];
        if (value != 0f || Float.floatToRawIntBits(value) != 0) {
            Arrays.fill(out, value);
        }
        return out;
    }

    @Override
    public float[] unary(UnaryOp op, float[] x, Cancel cancel) {
        float[] out = new float[x.length];
        chunked(x.length, (from, to) -> unaryRun(op, x, out, from, to), cancel);
        return out;
    }

    private void unaryRun(UnaryOp op, float[] x, float[] out, int from, int to) {
        switch (op) {
            case NEG -> {
                for (int i = from; i < to; i++) {
                    out[i] = -x[i];
                }
            }
            case ABS -> {
                for (int i = from; i < to; i++) {
                    out[i] = Math.abs(x[i]);
                }
            }
            case SQRT -> {
                for (int i = from; i < to; i++) {
                    out[i] = (float) Math.sqrt(x[i]);
                }
            }
            case RELU -> {
                for (int i = from; i < to; i++) {
                    out[i] = Math.max(x[i], 0f);
                }
            }
            case EXP, LOG, TANH, SIGMOID -> simd.transcendental(op, x, from, out, from, to - from);
        }
    }

    // ---------------------------------------------------------------- binary with broadcasting

    @Override
    public float[] binary(BinaryOp op, float[] a, Shape as, float[] b, Shape bs, Shape out, Cancel cancel) {
        float[] result = new float[Math.toIntExact(out.size())];
        if (result.length == 0) {
            return result;
        }
        Layout l = Layout.of(as, bs, out);
        int inner = l.dims[l.dims.length - 1];
        int innerA = (int) l.sa[l.dims.length - 1];
        int innerB = (int) l.sb[l.dims.length - 1];
        int rows = result.length / inner;
        if (rows == 1) {
            chunked(
                    inner,
                    (from, to) ->
                            binaryRun(op, a, innerA * from, innerA, b, innerB * from, innerB, result, from, to - from),
                    cancel);
            return result;
        }
        int rowsPerChunk = Math.max(1, CHUNK / inner);
        int chunks = result.length < PARALLEL_ELEMENTS ? 1 : Math.ceilDiv(rows, rowsPerChunk);
        int per = Math.ceilDiv(rows, chunks);
        parallel.forEach(
                chunks,
                c -> {
                    int r0 = c * per;
                    int r1 = Math.min(rows, r0 + per);
                    for (int r = r0; r < r1; r++) {
                        binaryRun(op, a, l.offsetA(r), innerA, b, l.offsetB(r), innerB, result, r * inner, inner);
                    }
                },
                cancel);
        return result;
    }

    /** One contiguous run of a binary op; each operand either advances (stride 1) or is broadcast (stride 0). */
    static void binaryRun(BinaryOp op, float[] a, int ao, int as, float[] b, int bo, int bs, float[] o, int oo, int n) {
        if (as == 1 && bs == 1) {
            switch (op) {
                case ADD -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = a[ao + i] + b[bo + i];
                    }
                }
                case SUB -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = a[ao + i] - b[bo + i];
                    }
                }
                case MUL -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = a[ao + i] * b[bo + i];
                    }
                }
                case DIV -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = a[ao + i] / b[bo + i];
                    }
                }
                case MAXIMUM -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = Math.max(a[ao + i], b[bo + i]);
                    }
                }
                case MINIMUM -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = Math.min(a[ao + i], b[bo + i]);
                    }
                }
            }
        } else if (as == 1) {
            float y = b[bo];
            switch (op) {
                case ADD -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = a[ao + i] + y;
                    }
                }
                case SUB -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = a[ao + i] - y;
                    }
                }
                case MUL -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = a[ao + i] * y;
                    }
                }
                case DIV -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = a[ao + i] / y;
                    }
                }
                case MAXIMUM -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = Math.max(a[ao + i], y);
                    }
                }
                case MINIMUM -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = Math.min(a[ao + i], y);
                    }
                }
            }
        } else if (bs == 1) {
            float x = a[ao];
            switch (op) {
                case ADD -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = x + b[bo + i];
                    }
                }
                case SUB -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = x - b[bo + i];
                    }
                }
                case MUL -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = x * b[bo + i];
                    }
                }
                case DIV -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = x / b[bo + i];
                    }
                }
                case MAXIMUM -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = Math.max(x, b[bo + i]);
                    }
                }
                case MINIMUM -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = Math.min(x, b[bo + i]);
                    }
                }
            }
        } else {
            float x = a[ao];
            float y = b[bo];
            float v = switch (op) {
                case ADD -> x + y;
                case SUB -> x - y;
                case MUL -> x * y;
                case DIV -> x / y;
                case MAXIMUM -> Math.max(x, y);
                case MINIMUM -> Math.min(x, y);
            };
            Arrays.fill(o, oo, oo + n, v);
        }
    }

    /**
     * A broadcast binary op's index space with adjacent axes merged wherever both operands allow
     * it, so that the innermost run is as long as possible; rows are everything but the last axis.
     */
    @SuppressWarnings("ArrayRecordComponent") // an index plan, read once and never compared
    private record Layout(int[] dims, long[] sa, long[] sb) {
        static Layout of(Shape as, Shape bs, Shape out) {
            long[] sa = Shapes.broadcastStrides(as, out);
            long[] sb = Shapes.broadcastStrides(bs, out);
            int[] dims = out.dims();
            if (dims.length == 0) {
                return new Layout(new int[] {1}, new long[] {1}, new long[] {1});
            }
            int n = 0;
            int[] d = new int[dims.length];
            long[] a = new long[dims.length];
            long[] b = new long[dims.length];
            for (int i = 0; i < dims.length; i++) {
                if (dims[i] == 1) {
                    continue; // size-1 axes contribute nothing
                }
                if (n > 0 && a[n - 1] == sa[i] * dims[i] && b[n - 1] == sb[i] * dims[i]) {
                    d[n - 1] *= dims[i];
                    a[n - 1] = sa[i];
                    b[n - 1] = sb[i];
                } else {
                    d[n] = dims[i];
                    a[n] = sa[i];
                    b[n] = sb[i];
                    n++;
                }
            }
            if (n == 0) {
                return new Layout(new int[] {1}, new long[] {1}, new long[] {1});
            }
            // The innermost run must have unit or zero stride; otherwise iterate it element by element.
            if (a[n - 1] > 1 || b[n - 1] > 1) {
                d[n] = 1;
                a[n] = 1;
                b[n] = 1;
                n++;
            }
            return new Layout(Arrays.copyOf(d, n), Arrays.copyOf(a, n), Arrays.copyOf(b, n));
        }

        int offsetA(int row) {
            return offset(row, sa);
        }

        int offsetB(int row) {
            return offset(row, sb);
        }

        private int offset(int row, long[] strides) {
            long off = 0;
            for (int d = dims.length - 2; d >= 0; d--) {
                int i = row % dims[d];
                row /= dims[d];
                off += i * strides[d];
            }
            return (int) off;
        }
    }

    // ---------------------------------------------------------------- matmul

    @Override
    public float[] matmul(float[] a, Shape as, float[] b, Shape bs, Shape out, Cancel cancel) {
        int m = as.dim(-2);
        int k = as.dim(-1);
        int n = bs.dim(-1);
        int batch = out.rank() == 3 ? out.dim(0) : 1;
        int aStep = as.rank() == 3 && as.dim(0) != 1 ? m * k : 0;
        int bStep = bs.rank() == 3 && bs.dim(0) != 1 ? k * n : 0;
        float[] c = new float[Math.toIntExact(out.size())];
        if ((long) m * n * k <= Gemm.SMALL && batch > 1) {
            // Many small matrices: spread the batch, not the matrices.
            int per = Math.max(1, (int) Math.min(batch, (1L << 16) / Math.max(1L, (long) m * n * k)));
            parallel.forEach(
                    Math.ceilDiv(batch, per),
                    chunk -> {
                        for (int p = chunk * per; p < Math.min(batch, (chunk + 1) * per); p++) {
                            Gemm.multiplySmall(a, p * aStep, b, p * bStep, c, p * m * n, m, n, k);
                        }
                    },
                    cancel);
            return c;
        }
        for (int p = 0; p < batch; p++) {
            cancel.check();
            gemm.multiply(a, p * aStep, b, p * bStep, c, p * m * n, m, n, k, cancel);
        }
        return c;
    }

    // ---------------------------------------------------------------- transpose

    @Override
    public float[] transpose(float[] x, Shape xs, int[] perm, Shape out, Cancel cancel) {
        float[] result = new float[x.length];
        int rank = perm.length;
        if (result.length == 0 || rank < 2) {
            System.arraycopy(x, 0, result, 0, x.length);
            return result;
        }
        // Batched matrix transpose (the common case): leading axes in place, last two swapped.
        boolean leadingInPlace = true;
        for (int d = 0; d < rank - 2; d++) {
            leadingInPlace &= perm[d] == d;
        }
        if (leadingInPlace && perm[rank - 2] == rank - 1 && perm[rank - 1] == rank - 2) {
            int r = xs.dim(-2);
            int c = xs.dim(-1);
            int batches = x.length / (r * c);
            parallel.forEach(batches, p -> transpose2d(x, p * r * c, result, p * r * c, r, c), cancel);
            return result;
        }
        long[] inStrides = Shapes.strides(xs);
        int[] dims = out.dims();
        int inner = dims[rank - 1];
        long innerStride = inStrides[perm[rank - 1]];
        int rows = result.length / inner;
        parallel.forEach(
                Math.ceilDiv(rows, 256),
                chunk -> {
                    int r1 = Math.min(rows, (chunk + 1) * 256);
                    for (int row = chunk * 256; row < r1; row++) {
                        long src = 0;
                        for (int d = rank - 2, rem = row; d >= 0; d--) {
                            src += (rem % dims[d]) * inStrides[perm[d]];
                            rem /= dims[d];
                        }
                        int dst = row * inner;
                        if (innerStride == 1) {
                            System.arraycopy(x, (int) src, result, dst, inner);
                        } else {
                            for (int i = 0; i < inner; i++) {
                                result[dst + i] = x[(int) (src + i * innerStride)];
                            }
                        }
                    }
                },
                cancel);
        return result;
    }

    /** Cache-blocked transpose of one {@code r x c} matrix. */
    private static void transpose2d(float[] x, int xo, float[] out, int oo, int r, int c) {
        final int t = 32;
        for (int i0 = 0; i0 < r; i0 += t) {
            int i1 = Math.min(r, i0 + t);
            for (int j0 = 0; j0 < c; j0 += t) {
                int j1 = Math.min(c, j0 + t);
                for (int i = i0; i < i1; i++) {
                    for (int j = j0; j < j1; j++) {
                        out[oo + j * r + i] = x[xo + i * c + j];
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- reductions

    @Override
    public float[] reduce(ReduceOp op, float[] x, Shape xs, boolean all, int axis, Shape out, Cancel cancel) {
        if (all) {
            return new float[] {reduceAll(op, x, cancel)};
        }
        int len = xs.dim(axis);
        int inner = 1;
        for (int d = axis + 1; d < xs.rank(); d++) {
            inner *= xs.dim(d);
        }
        float[] result = new float[Math.toIntExact(out.size())];
        if (result.length == 0) {
            return result;
        }
        int outer = result.length / inner;
        int in = inner;
        if (inner == 1) {
            int rowsPerChunk = Math.max(1, CHUNK / Math.max(1, len));
            parallel.forEach(
                    Math.ceilDiv(outer, rowsPerChunk),
                    chunk -> {
                        for (int o = chunk * rowsPerChunk; o < Math.min(outer, (chunk + 1) * rowsPerChunk); o++) {
                            result[o] = reduceRow(op, x, o * len, len);
                        }
                    },
                    cancel);
            return result;
        }
        parallel.forEach(outer, o -> reduceColumns(op, x, o * len * in, len, in, result, o * in), cancel);
        return result;
    }

    private float reduceAll(ReduceOp op, float[] x, Cancel cancel) {
        int chunks = x.length < PARALLEL_ELEMENTS ? 1 : Math.ceilDiv(x.length, CHUNK * 4);
        int per = Math.ceilDiv(Math.max(1, x.length), chunks);
        double[] partial = new double[chunks];
        parallel.forEach(
                chunks,
                c -> {
                    int from = c * per;
                    int n = Math.max(0, Math.min(x.length, from + per) - from);
                    partial[c] = op == ReduceOp.MAX ? simd.max(x, from, n) : simd.sum(x, from, n);
                },
                cancel);
        if (op == ReduceOp.MAX) {
            float m = Float.NEGATIVE_INFINITY;
            for (double p : partial) {
                m = Math.max(m, (float) p);
            }
            return m;
        }
        double s = 0;
        for (double p : partial) {
            s += p;
        }
        return (float) (op == ReduceOp.MEAN ? s / x.length : s);
    }

    private float reduceRow(ReduceOp op, float[] x, int off, int len) {
        return switch (op) {
            case SUM -> (float) simd.sum(x, off, len);
            case MEAN -> (float) (simd.sum(x, off, len) / len);
            case MAX -> simd.max(x, off, len);
        };
    }

    /** {@code out[j] = op over a of x[base + a * inner + j]}: whole rows at a time, vectorizable. */
    private static void reduceColumns(ReduceOp op, float[] x, int base, int len, int inner, float[] out, int oo) {
        if (op == ReduceOp.MAX) {
            Arrays.fill(out, oo, oo + inner, Float.NEGATIVE_INFINITY);
            for (int a = 0; a < len; a++) {
                int row = base + a * inner;
                for (int j = 0; j < inner; j++) {
                    out[oo + j] = Math.max(out[oo + j], x[row + j]);
                }
            }
            return;
        }
        for (int a = 0; a < len; a++) {
            int row = base + a * inner;
            for (int j = 0; j < inner; j++) {
                out[oo + j] += x[row + j];
            }
        }
        if (op == ReduceOp.MEAN) {
            float inv = 1.0f / len;
            for (int j = 0; j < inner; j++) {
                out[oo + j] = len == 0 ? Float.NaN : out[oo + j] * inv;
            }
        }
    }

    // ---------------------------------------------------------------- softmax

    @Override
    public float[] softmax(float[] x, Shape xs, Cancel cancel) {
        float[] out = new float[x.length];
        int n = xs.dim(-1);
        if (x.length == 0 || n == 0) {
            return out;
        }
        int rows = x.length / n;
        int rowsPerChunk = Math.max(1, CHUNK / n);
        parallel.forEach(
                Math.ceilDiv(rows, rowsPerChunk),
                chunk -> {
                    for (int r = chunk * rowsPerChunk; r < Math.min(rows, (chunk + 1) * rowsPerChunk); r++) {
                        simd.softmaxRow(x, r * n, out, r * n, n);
                    }
                },
                cancel);
        return out;
    }

    // ---------------------------------------------------------------- helpers

    private interface Range {
        void run(int from, int to);
    }

    /** Runs a flat elementwise loop, in parallel chunks when it is large. */
    private void chunked(int n, Range range, Cancel cancel) {
        if (n < PARALLEL_ELEMENTS) {
            range.run(0, n);
            return;
        }
        parallel.forEach(Math.ceilDiv(n, CHUNK), c -> range.run(c * CHUNK, Math.min(n, (c + 1) * CHUNK)), cancel);
    }
}
