package org.backplane.cpu.internal.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import org.backplane.api.BinaryOp;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.UnaryOp;
import org.backplane.cpu.internal.blas.OpenBlas;
import org.backplane.spi.Shapes;
import org.backplane.spi.device.AttentionGeometry;

/**
 * The CPU backend's fast path: cache-blocked, multi-threaded, vectorized kernels on float32
 * segments (the arrays' native storage, or scratch), each writing every element of the output it is
 * given. Inner loops go through {@link Simd}. Large ops are split over the compute pool. Checked
 * against the reference path by the tests; it never checks itself.
 */
public final class FastKernels implements Kernels {
    /** Elementwise ops on fewer elements than this run on the calling thread alone. */
    static final int PARALLEL_ELEMENTS = 1 << 17;
    /** Elements per parallel chunk of an elementwise op. */
    static final int CHUNK = 1 << 15;

    private final Simd simd;
    private final Parallel parallel;
    /** Null where OpenBLAS did not load. */
    private final OpenBlas blas;

    private final Products gemm;
    /** Products whose right-hand side was packed once: Backplane's own kernels, which can take it packed. */
    private final Gemm packedProducts;
    /** Floats the packed copies hold now, on the Java heap, against {@link #packBound}. */
    private final AtomicLong packedFloats = new AtomicLong();
    /** At most an eighth of the heap (and 512 MiB) in packed copies; beyond, products pack per call. */
    private final long packBound = Math.min(512L << 20, Runtime.getRuntime().maxMemory() / 8) / Float.BYTES;
    /** The same product on one thread, for batches whose matrices are spread over the threads instead. */
    private final Products serialGemm;

    FastKernels(Simd simd, Parallel parallel, OpenBlas blas) {
        this.simd = simd;
        this.parallel = parallel;
        this.blas = blas;
        Parallel alone = new Parallel(null, 0);
        this.packedProducts = new Gemm(simd, parallel);
        this.gemm = blas != null ? new BlasProducts(blas, parallel) : packedProducts;
        this.serialGemm = blas != null ? new BlasProducts(blas, alone) : new Gemm(simd, alone);
    }

    /**
     * Fast kernels on the Vector API if {@code useVectorApi} and the runtime provides
     * {@code jdk.incubator.vector}, else on portable scalar loops; matrix products on {@code blas}
     * where it loaded (null: on the Java kernels).
     */
    public static FastKernels create(Parallel parallel, boolean useVectorApi, OpenBlas blas) {
        boolean vector = useVectorApi && VectorAvailability.available();
        return new FastKernels(
                vector ? VectorAvailability.newVectorSimd() : new ScalarSimd(useVectorApi), parallel, blas);
    }

    /** Which implementation runs matrix products, for device details. */
    public String productsDescription() {
        return gemm.description();
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
    public void unary(UnaryOp op, MemorySegment x, MemorySegment out, int n, Cancel cancel) {
        chunked(n, (from, to) -> simd.unary(op, x, from, out, from, to - from), cancel);
    }

    // ---------------------------------------------------------------- binary with broadcasting

    @Override
    public void binary(
            BinaryOp op,
            MemorySegment a,
            Shape as,
            MemorySegment b,
            Shape bs,
            MemorySegment result,
            Shape out,
            Cancel cancel) {
        int size = Math.toIntExact(out.size());
        if (size == 0) {
            return;
        }
        Layout l = Layout.of(as, bs, out);
        int inner = l.dims[l.dims.length - 1];
        int innerA = (int) l.sa[l.dims.length - 1];
        int innerB = (int) l.sb[l.dims.length - 1];
        int rows = size / inner;
        if (rows == 1) {
            chunked(
                    inner,
                    (from, to) -> simd.binary(
                            op,
                            a,
                            (long) innerA * from,
                            innerA,
                            b,
                            (long) innerB * from,
                            innerB,
                            result,
                            from,
                            to - from),
                    cancel);
            return;
        }
        int rowsPerChunk = Math.max(1, CHUNK / inner);
        int chunks = size < PARALLEL_ELEMENTS ? 1 : Math.ceilDiv(rows, rowsPerChunk);
        int per = Math.ceilDiv(rows, chunks);
        parallel.forEach(
                chunks,
                c -> {
                    int r0 = c * per;
                    int r1 = Math.min(rows, r0 + per);
                    for (int r = r0; r < r1; r++) {
                        simd.binary(
                                op, a, l.offsetA(r), innerA, b, l.offsetB(r), innerB, result, (long) r * inner, inner);
                    }
                },
                cancel);
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
    public void matmul(
            MemorySegment a, Shape as, MemorySegment b, Shape bs, MemorySegment c, Shape out, Cancel cancel) {
        int m = as.dim(-2);
        int k = as.dim(-1);
        int n = bs.dim(-1);
        Shape batchShape = Shapes.batchOf(out);
        int batch = Math.toIntExact(batchShape.size());
        if (batch > 1 && Shapes.batchOf(bs).size() == 1 && Shapes.batchOf(as).size() == batch) {
            // A batch of A against one B: one taller product, split over the threads as a whole.
            gemm.multiply(a, 0, b, 0, c, 0, batch * m, n, k, cancel);
            return;
        }
        long[] sa = Shapes.broadcastStrides(Shapes.batchOf(as), batchShape);
        long[] sb = Shapes.broadcastStrides(Shapes.batchOf(bs), batchShape);
        long[] aOff = new long[batch];
        long[] bOff = new long[batch];
        for (int p = 0; p < batch; p++) {
            aOff[p] = position(batchShape, sa, p) * m * k;
            bOff[p] = position(batchShape, sb, p) * k * n;
        }
        long mn = (long) m * n;
        if ((long) m * n * k <= Gemm.SMALL && batch > 1) {
            // Many small matrices: spread the batch, not the matrices.
            int per = Math.max(1, (int) Math.min(batch, (1L << 16) / Math.max(1L, (long) m * n * k)));
            parallel.forEach(
                    Math.ceilDiv(batch, per),
                    chunk -> {
                        for (int p = chunk * per; p < Math.min(batch, (chunk + 1) * per); p++) {
                            Gemm.multiplySmall(a, aOff[p], b, bOff[p], c, p * mn, m, n, k);
                        }
                    },
                    cancel);
            return;
        }
        if (batch >= parallel.threads() && (long) m * n * k <= Gemm.SPREAD_BATCH) {
            // Attention-sized matrices (one per head): splitting each over the threads costs more in
            // hand-offs and re-packing than it gains, so each thread takes whole matrices.
            parallel.forEach(
                    batch, p -> serialGemm.multiply(a, aOff[p], b, bOff[p], c, p * mn, m, n, k, cancel), cancel);
            return;
        }
        for (int p = 0; p < batch; p++) {
            cancel.check();
            gemm.multiply(a, aOff[p], b, bOff[p], c, p * mn, m, n, k, cancel);
        }
    }

    /**
     * Up to this many rows (a short sentence) a product whose B is kept packed runs on the packed
     * panels, where a product per call costs about as much as packing its B.
     */
    static final int FEW_ROWS = 64;
    /**
     * The deepest such product where OpenBLAS runs the rest: deeper, the packed kernel's passes over
     * C cost more than OpenBLAS's own packing with 256-bit vectors (Zen 3, and Zen 4 at UseAVX=2: no
     * gain) and 128-bit ones (UseAVX=1: one text 15% slower at depth 1536), and less with 512-bit ones
     * (Zen 4: one text 14% faster at depth 1536, the feed-forward's second product), measured on
     * 2026-12-07 and 12-08.
     */
    static final int PACKED_DEPTH = 384;

    static final int PACKED_DEPTH_512_BIT = 1536;

    @Override
    public boolean runsPacked(long rows, long depth) {
        if (rows <= 0 || rows > FEW_ROWS) {
            return false;
        }
        if (blas == null) {
            return true; // the per-call product is the same kernel, packing B on every call
        }
        return depth <= (simd.floatsPerVector() >= 16 ? PACKED_DEPTH_512_BIT : PACKED_DEPTH);
    }

    @Override
    public PackedOperand pack(MemorySegment b, int k, int n) {
        long floats = (long) k * n;
        if (packedFloats.addAndGet(floats) > packBound) {
            packedFloats.addAndGet(-floats);
            return null;
        }
        Gemm.PackedB packed = packedProducts.pack(b, 0, k, n);
        packedFloats.addAndGet(packed.floats() - floats); // zero padded to whole panels
        return packed;
    }

    @Override
    public void release(PackedOperand packed) {
        packedFloats.addAndGet(-((Gemm.PackedB) packed).floats());
    }

    @Override
    public void matmul(MemorySegment a, int rows, PackedOperand b, MemorySegment c, Cancel cancel) {
        packedProducts.multiply(a, 0, (Gemm.PackedB) b, c, 0, rows, cancel);
    }

    /** The position of row-major index {@code flat} of {@code shape} read through {@code strides}. */
    public static long position(Shape shape, long[] strides, long flat) {
        long pos = 0;
        for (int i = shape.rank() - 1; i >= 0; i--) {
            pos += (flat % shape.dim(i)) * strides[i];
            flat /= shape.dim(i);
        }
        return pos;
    }

    @Override
    public void transposeMatrices(MemorySegment x, int batches, int rows, int cols, MemorySegment out, Cancel cancel) {
        long size = (long) rows * cols;
        parallel.forEach(batches, p -> transpose2d(x, p * size, out, p * size, rows, cols), cancel);
    }

    /** Cache-blocked transpose of one {@code r x c} matrix. */
    private static void transpose2d(MemorySegment x, long xo, MemorySegment out, long oo, int r, int c) {
        final int t = 32;
        for (int i0 = 0; i0 < r; i0 += t) {
            int i1 = Math.min(r, i0 + t);
            for (int j0 = 0; j0 < c; j0 += t) {
                int j1 = Math.min(c, j0 + t);
                for (int i = i0; i < i1; i++) {
                    for (int j = j0; j < j1; j++) {
                        F32.set(out, oo + (long) j * r + i, F32.get(x, xo + (long) i * c + j));
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- attention

    /** Writes the rows of an attention mask, as float32, for one (batch, query row). */
    public interface MaskRows {
        /** Mask values of batch {@code batch}, query row {@code row}, into {@code into[0, lk)}. */
        void read(long batch, int row, MemorySegment into);

        /** Whether every query row of a batch reads the same values (then they are read once per block). */
        default boolean sameForEveryRow() {
            return false;
        }
    }

    /** Attention scores of up to this many floats are computed at once: a block that stays in L2. */
    private static final int SCORES_BLOCK = 1 << 14;

    /** Per-thread scratch of the attention blocks; the threads are the backend's and die with it. */
    private final ThreadLocal<MemorySegment[]> attentionScratch = ThreadLocal.withInitial(() -> new MemorySegment[2]);

    /**
     * Scaled dot-product attention read straight from the inputs' storage, one (batch, block of query
     * rows) at a time, spread over the threads: scores of a block ({@code q k^T}, rows of the queries
     * as the storage lays them out) stay in the thread's scratch, are scaled, masked and soft-maxed
     * there, and multiply the values into the output; the {@code [batch, lq, lk]} scores never go
     * through memory. False (nothing done) without OpenBLAS, or when an input's rows are not
     * contiguous: then the caller composes the op from the other kernels.
     *
     * @param mask the mask's rows, or null; {@code keep}: a mask value 0 removes the score, else it is added
     * @param out the output, dense float32 {@code [batch, lq, dv]}
     */
    @Override
    public boolean attention(
            AttentionGeometry g,
            MemorySegment q,
            MemorySegment k,
            MemorySegment v,
            MaskRows mask,
            boolean keep,
            float scale,
            MemorySegment out,
            Cancel cancel) {
        if (blas == null || !blasRows(g.q(), g.d()) || !blasRows(g.k(), g.d()) || !blasRows(g.v(), g.dv())) {
            return false;
        }
        int lq = g.lq();
        int lk = g.lk();
        int d = g.d();
        int dv = g.dv();
        long batches = g.batchSize();
        int rowsPerBlock = Math.max(1, Math.min(lq, SCORES_BLOCK / Math.max(1, lk)));
        int blocksPerBatch = Math.ceilDiv(lq, rowsPerBlock);
        long tasks = batches * blocksPerBatch;
        if (lq == 0 || dv == 0 || tasks == 0) {
            return true;
        }
        parallel.forEach(
                Math.toIntExact(tasks),
                t -> {
                    long p = t / blocksPerBatch;
                    int r0 = (t % blocksPerBatch) * rowsPerBlock;
                    int rows = Math.min(rowsPerBlock, lq - r0);
                    MemorySegment[] scratch = scratch((long) rows * lk, lk);
                    MemorySegment scores = scratch[0];
                    long qBase = base(g.q(), g.batch(), p) + r0 * g.q().rowStride();
                    long kBase = base(g.k(), g.batch(), p);
                    long vBase = base(g.v(), g.batch(), p);
                    if (d == 0) {
                        F32.fill(scores, 0, (long) rows * lk, 0f);
                    } else {
                        blas.sgemm(
                                false,
                                true,
                                rows,
                                lk,
                                d,
                                q,
                                qBase,
                                (int) g.q().rowStride(),
                                k,
                                kBase,
                                (int) g.k().rowStride(),
                                scores,
                                0,
                                lk,
                                false);
                    }
                    for (int i = 0; i < rows; i++) {
                        MemorySegment maskRow = null;
                        if (mask != null) {
                            maskRow = scratch[1];
                            if (i == 0 || !mask.sameForEveryRow()) {
                                mask.read(p, r0 + i, maskRow);
                            }
                        }
                        simd.scaleMaskRow(scores, (long) i * lk, lk, scale, maskRow, 0, keep);
                        simd.softmaxRow(scores, (long) i * lk, scores, (long) i * lk, lk);
                    }
                    if (lk == 0) {
                        F32.fill(out, (p * lq + r0) * dv, (long) rows * dv, 0f);
                    } else {
                        blas.sgemm(
                                false,
                                false,
                                rows,
                                dv,
                                lk,
                                scores,
                                0,
                                lk,
                                v,
                                vBase,
                                (int) g.v().rowStride(),
                                out,
                                (p * lq + r0) * dv,
                                dv,
                                false);
                    }
                },
                cancel);
        return true;
    }

    /**
     * Whether BLAS can read an operand's matrices as they lie: contiguous rows, one after another
     * (BLAS takes no reversed, repeated or overlapping rows: its leading dimension is at least the
     * row's length).
     */
    private static boolean blasRows(AttentionGeometry.Operand o, int cols) {
        return o.colStride() == 1 && o.rowStride() >= Math.max(1, cols) && o.rowStride() <= Integer.MAX_VALUE;
    }

    /** Where batch {@code p}'s matrix of an operand starts in its storage. */
    private static long base(AttentionGeometry.Operand o, Shape batch, long p) {
        return o.offset() + position(batch, o.batchStrides(), p);
    }

    /** The thread's scratch: scores of {@code floats} and a mask row of {@code row} floats, grown as needed. */
    private MemorySegment[] scratch(long floats, int row) {
        MemorySegment[] s = attentionScratch.get();
        if (s[0] == null || s[0].byteSize() < floats * Float.BYTES) {
            s[0] = Arena.ofAuto().allocate(Math.max(1, floats) * Float.BYTES, 64); // freed with the thread
        }
        if (s[1] == null || s[1].byteSize() < (long) row * Float.BYTES) {
            s[1] = Arena.ofAuto().allocate(Math.max(1, row) * (long) Float.BYTES, 64);
        }
        return s;
    }

    // ---------------------------------------------------------------- reductions

    @Override
    public void reduce(
            ReduceOp op,
            MemorySegment x,
            Shape xs,
            boolean all,
            int axis,
            MemorySegment result,
            int outSize,
            Cancel cancel) {
        if (all) {
            F32.set(result, 0, reduceAll(op, x, Math.toIntExact(xs.size()), cancel));
            return;
        }
        if (outSize == 0) {
            return;
        }
        int len = xs.dim(axis);
        int inner = 1;
        for (int d = axis + 1; d < xs.rank(); d++) {
            inner *= xs.dim(d);
        }
        int outer = outSize / inner;
        int in = inner;
        if (inner == 1) {
            int rowsPerChunk = Math.max(1, CHUNK / Math.max(1, len));
            parallel.forEach(
                    Math.ceilDiv(outer, rowsPerChunk),
                    chunk -> {
                        for (int o = chunk * rowsPerChunk; o < Math.min(outer, (chunk + 1) * rowsPerChunk); o++) {
                            F32.set(result, o, reduceRow(op, x, (long) o * len, len));
                        }
                    },
                    cancel);
            return;
        }
        parallel.forEach(outer, o -> reduceColumns(op, x, (long) o * len * in, len, in, result, (long) o * in), cancel);
    }

    private float reduceAll(ReduceOp op, MemorySegment x, int length, Cancel cancel) {
        if (op != ReduceOp.SUM && op != ReduceOp.MEAN && op != ReduceOp.MAX) {
            return reduceRow(op, x, 0, length);
        }
        int chunks = length < PARALLEL_ELEMENTS ? 1 : Math.ceilDiv(length, CHUNK * 4);
        int per = Math.ceilDiv(Math.max(1, length), chunks);
        double[] partial = new double[chunks];
        parallel.forEach(
                chunks,
                c -> {
                    int from = c * per;
                    int n = Math.max(0, Math.min(length, from + per) - from);
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
        return (float) (op == ReduceOp.MEAN ? s / length : s);
    }

    private float reduceRow(ReduceOp op, MemorySegment x, long off, int len) {
        return switch (op) {
            case SUM -> (float) simd.sum(x, off, len);
            case MEAN -> (float) (simd.sum(x, off, len) / len);
            case MAX -> simd.max(x, off, len);
            case MIN, PROD, VAR -> (float) reduceStrided(op, x, off, len, 1);
        };
    }

    /** MIN, PROD and VAR of {@code len} elements {@code stride} apart, in float64. */
    private static double reduceStrided(ReduceOp op, MemorySegment x, long off, int len, int stride) {
        return switch (op) {
            case MIN -> min(x, off, len, stride);
            case PROD -> product(x, off, len, stride);
            case VAR -> variance(x, off, len, stride);
            default -> throw new IllegalArgumentException(op.toString());
        };
    }

    private static float min(MemorySegment x, long off, int len, int stride) {
        float m = Float.POSITIVE_INFINITY;
        for (int i = 0; i < len; i++) {
            m = Math.min(m, F32.get(x, off + (long) i * stride));
        }
        return m;
    }

    private static double product(MemorySegment x, long off, int len, int stride) {
        double p = 1;
        for (int i = 0; i < len; i++) {
            p *= F32.get(x, off + (long) i * stride);
        }
        return p;
    }

    /** Two passes: the mean, then the mean squared deviation (no cancellation of E[x^2] - E[x]^2). */
    private static double variance(MemorySegment x, long off, int len, int stride) {
        double sum = 0;
        for (int i = 0; i < len; i++) {
            sum += F32.get(x, off + (long) i * stride);
        }
        double mean = sum / len;
        double sq = 0;
        for (int i = 0; i < len; i++) {
            double d = F32.get(x, off + (long) i * stride) - mean;
            sq += d * d;
        }
        return sq / len;
    }

    /** {@code out[j] = op over a of x[base + a * inner + j]}: whole rows at a time, accumulated on the heap. */
    private void reduceColumns(
            ReduceOp op, MemorySegment x, long base, int len, int inner, MemorySegment out, long oo) {
        switch (op) {
            case MAX, SUM, MEAN -> {
                // accumulated in the output itself, a whole row at a time
                F32.fill(out, oo, inner, op == ReduceOp.MAX ? Float.NEGATIVE_INFINITY : 0f);
                BinaryOp combine = op == ReduceOp.MAX ? BinaryOp.MAXIMUM : BinaryOp.ADD;
                for (int a = 0; a < len; a++) {
                    simd.binary(combine, out, oo, 1, x, base + (long) a * inner, 1, out, oo, inner);
                }
                if (op == ReduceOp.MEAN) {
                    float inv = 1.0f / len;
                    for (int j = 0; j < inner; j++) {
                        F32.set(out, oo + j, len == 0 ? Float.NaN : F32.get(out, oo + j) * inv);
                    }
                }
            }
            default -> {
                for (int j = 0; j < inner; j++) {
                    F32.set(out, oo + j, (float) reduceStrided(op, x, base + j, len, inner));
                }
            }
        }
    }

    // ---------------------------------------------------------------- softmax and normalisation

    @Override
    public void softmax(MemorySegment x, Shape xs, int axis, boolean log, MemorySegment out, Cancel cancel) {
        int size = Math.toIntExact(xs.size());
        int n = xs.dim(axis);
        if (size == 0 || n == 0) {
            return;
        }
        if (axis != xs.rank() - 1) {
            softmaxStrided(x, xs, axis, log, out);
            return;
        }
        int rows = size / n;
        int rowsPerChunk = Math.max(1, CHUNK / n);
        parallel.forEach(
                Math.ceilDiv(rows, rowsPerChunk),
                chunk -> {
                    for (int r = chunk * rowsPerChunk; r < Math.min(rows, (chunk + 1) * rowsPerChunk); r++) {
                        if (log) {
                            simd.logSoftmaxRow(x, (long) r * n, out, (long) r * n, n);
                        } else {
                            simd.softmaxRow(x, (long) r * n, out, (long) r * n, n);
                        }
                    }
                },
                cancel);
    }

    /** Softmax over an axis that is not the last, in float64 (rare: models reduce the last axis). */
    private static void softmaxStrided(MemorySegment x, Shape xs, int axis, boolean log, MemorySegment out) {
        int n = xs.dim(axis);
        int inner = 1;
        for (int d = axis + 1; d < xs.rank(); d++) {
            inner *= xs.dim(d);
        }
        long outer = xs.size() / ((long) n * inner);
        for (long o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                long base = o * n * inner + j;
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < n; i++) {
                    max = Math.max(max, F32.get(x, base + (long) i * inner));
                }
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    sum += StrictMath.exp(F32.get(x, base + (long) i * inner) - max);
                }
                for (int i = 0; i < n; i++) {
                    double s = F32.get(x, base + (long) i * inner) - max;
                    F32.set(out, base + (long) i * inner, (float)
                            (log ? s - StrictMath.log(sum) : StrictMath.exp(s) / sum));
                }
            }
        }
    }

    @Override
    public void normalize(
            MemorySegment x,
            int size,
            int n,
            MemorySegment weight,
            MemorySegment bias,
            float epsilon,
            boolean center,
            MemorySegment out,
            Cancel cancel) {
        if (size == 0 || n == 0) {
            return;
        }
        int rows = size / n;
        int rowsPerChunk = Math.max(1, CHUNK / n);
        parallel.forEach(
                Math.ceilDiv(rows, rowsPerChunk),
                chunk -> {
                    for (int r = chunk * rowsPerChunk; r < Math.min(rows, (chunk + 1) * rowsPerChunk); r++) {
                        simd.normalizeRow(x, (long) r * n, n, weight, bias, epsilon, center, out, (long) r * n);
                    }
                },
                cancel);
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
