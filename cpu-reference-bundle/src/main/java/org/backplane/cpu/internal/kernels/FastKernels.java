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
    /** The same product on one thread, for batches whose matrices are spread over the threads instead. */
    private final Gemm serialGemm;

    FastKernels(Simd simd, Parallel parallel) {
        this.simd = simd;
        this.parallel = parallel;
        this.gemm = new Gemm(simd, parallel);
        this.serialGemm = new Gemm(simd, new Parallel(null, 0));
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
            case RSQRT -> {
                for (int i = from; i < to; i++) {
                    out[i] = 1f / (float) Math.sqrt(x[i]);
                }
            }
            case RECIPROCAL -> {
                for (int i = from; i < to; i++) {
                    out[i] = 1f / x[i];
                }
            }
            case SIN -> {
                for (int i = from; i < to; i++) {
                    out[i] = (float) StrictMath.sin(x[i]);
                }
            }
            case COS -> {
                for (int i = from; i < to; i++) {
                    out[i] = (float) StrictMath.cos(x[i]);
                }
            }
            case EXP, LOG, TANH, SIGMOID, ERF, GELU, GELU_TANH, SILU ->
                simd.transcendental(op, x, from, out, from, to - from);
            case FLOOR -> {
                for (int i = from; i < to; i++) {
                    out[i] = (float) Math.floor(x[i]);
                }
            }
            case LOGICAL_NOT -> throw new IllegalArgumentException("logical not is lowered on truth values");
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
                default -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = apply(op, a[ao + i], b[bo + i]);
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
                default -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = apply(op, a[ao + i], y);
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
                default -> {
                    for (int i = 0; i < n; i++) {
                        o[oo + i] = apply(op, x, b[bo + i]);
                    }
                }
            }
        } else {
            float x = a[ao];
            float y = b[bo];
            Arrays.fill(o, oo, oo + n, apply(op, x, y));
        }
    }

    /** One element of a binary op in float32: comparisons give 1 or 0; pow follows C99 (see BinaryOp). */
    static float apply(BinaryOp op, float x, float y) {
        return switch (op) {
            case ADD -> x + y;
            case SUB -> x - y;
            case MUL -> x * y;
            case DIV -> x / y;
            case MAXIMUM -> Math.max(x, y);
            case MINIMUM -> Math.min(x, y);
            case POW -> y == 0 || x == 1 || (x == -1 && Float.isInfinite(y)) ? 1f : (float) StrictMath.pow(x, y);
            case EQUAL -> x == y ? 1f : 0f;
            case NOT_EQUAL -> x != y ? 1f : 0f;
            case LESS -> x < y ? 1f : 0f;
            case LESS_EQUAL -> x <= y ? 1f : 0f;
            case GREATER -> x > y ? 1f : 0f;
            case GREATER_EQUAL -> x >= y ? 1f : 0f;
            case LOGICAL_AND, LOGICAL_OR ->
                throw new IllegalArgumentException("logical ops are lowered on truth values");
        };
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
        Shape batchShape = Shapes.batchOf(out);
        int batch = Math.toIntExact(batchShape.size());
        if (batch > 1 && Shapes.batchOf(bs).size() == 1 && Shapes.batchOf(as).size() == batch) {
            // A batch of A against one B: one taller product, split over the threads as a whole.
            float[] c = new float[Math.toIntExact(out.size())];
            gemm.multiply(a, 0, b, 0, c, 0, batch * m, n, k, cancel);
            return c;
        }
        long[] sa = Shapes.broadcastStrides(Shapes.batchOf(as), batchShape);
        long[] sb = Shapes.broadcastStrides(Shapes.batchOf(bs), batchShape);
        int[] aOff = new int[batch];
        int[] bOff = new int[batch];
        for (int p = 0; p < batch; p++) {
            aOff[p] = Math.toIntExact(position(batchShape, sa, p) * m * k);
            bOff[p] = Math.toIntExact(position(batchShape, sb, p) * k * n);
        }
        float[] c = new float[Math.toIntExact(out.size())];
        if ((long) m * n * k <= Gemm.SMALL && batch > 1) {
            // Many small matrices: spread the batch, not the matrices.
            int per = Math.max(1, (int) Math.min(batch, (1L << 16) / Math.max(1L, (long) m * n * k)));
            parallel.forEach(
                    Math.ceilDiv(batch, per),
                    chunk -> {
                        for (int p = chunk * per; p < Math.min(batch, (chunk + 1) * per); p++) {
                            Gemm.multiplySmall(a, aOff[p], b, bOff[p], c, p * m * n, m, n, k);
                        }
                    },
                    cancel);
            return c;
        }
        if (batch >= parallel.threads() && (long) m * n * k <= Gemm.SPREAD_BATCH) {
            // Attention-sized matrices (one per head): splitting each over the threads costs more in
            // hand-offs and re-packing than it gains, so each thread takes whole matrices.
            parallel.forEach(
                    batch, p -> serialGemm.multiply(a, aOff[p], b, bOff[p], c, p * m * n, m, n, k, cancel), cancel);
            return c;
        }
        for (int p = 0; p < batch; p++) {
            cancel.check();
            gemm.multiply(a, aOff[p], b, bOff[p], c, p * m * n, m, n, k, cancel);
        }
        return c;
    }

    /** The position of row-major index {@code flat} of {@code shape} read through {@code strides}. */
    static long position(Shape shape, long[] strides, long flat) {
        long pos = 0;
        for (int i = shape.rank() - 1; i >= 0; i--) {
            pos += (flat % shape.dim(i)) * strides[i];
            flat /= shape.dim(i);
        }
        return pos;
    }

    @Override
    public float[] transposeMatrices(float[] x, int batches, int rows, int cols, Cancel cancel) {
        float[] result = new float[x.length];
        parallel.forEach(batches, p -> transpose2d(x, p * rows * cols, result, p * rows * cols, rows, cols), cancel);
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
    public float[] reduce(ReduceOp op, float[] x, Shape xs, boolean all, int axis, int outSize, Cancel cancel) {
        if (all) {
            return new float[] {reduceAll(op, x, cancel)};
        }
        int len = xs.dim(axis);
        int inner = 1;
        for (int d = axis + 1; d < xs.rank(); d++) {
            inner *= xs.dim(d);
        }
        float[] result = new float[outSize];
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
        if (op != ReduceOp.SUM && op != ReduceOp.MEAN && op != ReduceOp.MAX) {
            return reduceRow(op, x, 0, x.length);
        }
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
            case MIN, PROD, VAR -> (float) reduceStrided(op, x, off, len, 1);
        };
    }

    /** MIN, PROD and VAR of {@code len} elements {@code stride} apart, in float64. */
    private static double reduceStrided(ReduceOp op, float[] x, int off, int len, int stride) {
        return switch (op) {
            case MIN -> min(x, off, len, stride);
            case PROD -> product(x, off, len, stride);
            case VAR -> variance(x, off, len, stride);
            default -> throw new IllegalArgumentException(op.toString());
        };
    }

    private static float min(float[] x, int off, int len, int stride) {
        float m = Float.POSITIVE_INFINITY;
        for (int i = 0; i < len; i++) {
            m = Math.min(m, x[off + i * stride]);
        }
        return m;
    }

    private static double product(float[] x, int off, int len, int stride) {
        double p = 1;
        for (int i = 0; i < len; i++) {
            p *= x[off + i * stride];
        }
        return p;
    }

    /** Two passes: the mean, then the mean squared deviation (no cancellation of E[x^2] - E[x]^2). */
    private static double variance(float[] x, int off, int len, int stride) {
        double sum = 0;
        for (int i = 0; i < len; i++) {
            sum += x[off + i * stride];
        }
        double mean = sum / len;
        double sq = 0;
        for (int i = 0; i < len; i++) {
            double d = x[off + i * stride] - mean;
            sq += d * d;
        }
        return sq / len;
    }

    /** {@code out[j] = op over a of x[base + a * inner + j]}: whole rows at a time, vectorizable. */
    private static void reduceColumns(ReduceOp op, float[] x, int base, int len, int inner, float[] out, int oo) {
        switch (op) {
            case MAX -> {
                Arrays.fill(out, oo, oo + inner, Float.NEGATIVE_INFINITY);
                for (int a = 0; a < len; a++) {
                    int row = base + a * inner;
                    for (int j = 0; j < inner; j++) {
                        out[oo + j] = Math.max(out[oo + j], x[row + j]);
                    }
                }
            }
            case SUM, MEAN -> {
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
            default -> {
                for (int j = 0; j < inner; j++) {
                    out[oo + j] = (float) reduceStrided(op, x, base + j, len, inner);
                }
            }
        }
    }

    // ---------------------------------------------------------------- softmax and normalisation

    @Override
    public float[] softmax(float[] x, Shape xs, int axis, boolean log, Cancel cancel) {
        float[] out = new float[x.length];
        int n = xs.dim(axis);
        if (x.length == 0 || n == 0) {
            return out;
        }
        if (axis != xs.rank() - 1) {
            softmaxStrided(x, xs, axis, log, out);
            return out;
        }
        int rows = x.length / n;
        int rowsPerChunk = Math.max(1, CHUNK / n);
        parallel.forEach(
                Math.ceilDiv(rows, rowsPerChunk),
                chunk -> {
                    for (int r = chunk * rowsPerChunk; r < Math.min(rows, (chunk + 1) * rowsPerChunk); r++) {
                        if (log) {
                            logSoftmaxRow(x, r * n, out, n);
                        } else {
                            simd.softmaxRow(x, r * n, out, r * n, n);
                        }
                    }
                },
                cancel);
        return out;
    }

    /** Log-softmax of one row: {@code x - max - log(sum(exp(x - max)))}. */
    private void logSoftmaxRow(float[] x, int off, float[] out, int n) {
        float max = simd.max(x, off, n);
        float[] shifted = new float[n];
        for (int i = 0; i < n; i++) {
            shifted[i] = x[off + i] - max;
        }
        float[] e = new float[n];
        simd.transcendental(org.backplane.api.UnaryOp.EXP, shifted, 0, e, 0, n);
        float[] sum = {(float) simd.sum(e, 0, n)};
        float[] logSum = new float[1];
        simd.transcendental(org.backplane.api.UnaryOp.LOG, sum, 0, logSum, 0, 1);
        for (int i = 0; i < n; i++) {
            out[off + i] = shifted[i] - logSum[0];
        }
    }

    /** Softmax over an axis that is not the last, in float64 (rare: models reduce the last axis). */
    private static void softmaxStrided(float[] x, Shape xs, int axis, boolean log, float[] out) {
        int n = xs.dim(axis);
        int inner = 1;
        for (int d = axis + 1; d < xs.rank(); d++) {
            inner *= xs.dim(d);
        }
        int outer = x.length / (n * inner);
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                int base = o * n * inner + j;
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < n; i++) {
                    max = Math.max(max, x[base + i * inner]);
                }
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    sum += StrictMath.exp(x[base + i * inner] - max);
                }
                for (int i = 0; i < n; i++) {
                    double s = x[base + i * inner] - max;
                    out[base + i * inner] = (float) (log ? s - StrictMath.log(sum) : StrictMath.exp(s) / sum);
                }
            }
        }
    }

    @Override
    public float[] normalize(
            float[] x, int n, float[] weight, float[] bias, float epsilon, boolean center, Cancel cancel) {
        float[] out = new float[x.length];
        if (x.length == 0 || n == 0) {
            return out;
        }
        int rows = x.length / n;
        int rowsPerChunk = Math.max(1, CHUNK / n);
        parallel.forEach(
                Math.ceilDiv(rows, rowsPerChunk),
                chunk -> {
                    for (int r = chunk * rowsPerChunk; r < Math.min(rows, (chunk + 1) * rowsPerChunk); r++) {
                        normalizeRow(x, r * n, n, weight, bias, epsilon, center, out);
                    }
                },
                cancel);
        return out;
    }

    private void normalizeRow(float[] x, int off, int n, float[] w, float[] b, float eps, boolean center, float[] out) {
        double mean = center ? simd.sum(x, off, n) / n : 0;
        double sq = 0;
        for (int i = 0; i < n; i++) {
            double d = x[off + i] - mean;
            sq += d * d;
        }
        float scale = (float) (1 / Math.sqrt(sq / n + eps));
        float m = (float) mean;
        for (int i = 0; i < n; i++) {
            float v = (x[off + i] - m) * scale;
            if (w != null) {
                v *= w[i];
            }
            if (b != null) {
                v += b[i];
            }
            out[off + i] = v;
        }
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
