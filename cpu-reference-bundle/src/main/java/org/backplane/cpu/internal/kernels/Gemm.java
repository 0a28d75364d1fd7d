package org.backplane.cpu.internal.kernels;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Single-precision matrix multiply {@code C = A x B} (row-major), blocked the GotoBLAS/BLIS way:
 * a {@code KC x NC} panel of B is packed once and shared; each {@code MC x KC} block of A is packed by
 * the thread that uses it; a register-blocked micro-kernel ({@link Simd#gemmTile}) computes each
 * {@code MR x NR} tile of C. Blocks of rows are spread over the caller and the compute pool.
 */
final class Gemm implements Products {
    /** Depth of a packed panel: a B micro-panel ({@code KC x NR}) stays in L1 across a row block. */
    static final int KC = 256;
    /** Width of the packed B panel: {@code KC x NC} floats (1 MiB) stay in L2/L3. */
    static final int NC = 1024;
    /** Target height of a row block of A ({@code MC x KC} floats, about 96 KiB, in L2). */
    static final int MC = 96;
    /** Below this many multiply-adds a plain loop beats packing. */
    static final long SMALL = 48L * 48 * 48;
    /** Up to this many multiply-adds per matrix, a batch of products is spread by matrix, not by rows. */
    static final long SPREAD_BATCH = 1L << 22;

    private final Simd simd;
    private final Parallel parallel;
    private final int mr;
    private final int nr;
    /** Per-thread packing buffers; the threads belong to the engine and die with it. */
    private final ThreadLocal<float[]> aPanels;

    private final ThreadLocal<float[]> bPanels = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<float[]> tiles;

    Gemm(Simd simd, Parallel parallel) {
        this.simd = simd;
        this.parallel = parallel;
        this.mr = simd.mr();
        this.nr = simd.nr();
        int mcMax = roundUp(MC + mr * 4, mr);
        this.aPanels = ThreadLocal.withInitial(() -> new float[mcMax * KC]);
        this.tiles = ThreadLocal.withInitial(() -> new float[mr * nr]);
    }

    @Override
    public String description() {
        return "Backplane's Java kernels (" + mr + " x " + nr + " micro-kernel)";
    }

    /** {@code c[co..] = a[ao..] (m x k) x b[bo..] (k x n)}, all row-major and dense; offsets in elements. */
    @Override
    public void multiply(
            MemorySegment a,
            long ao,
            MemorySegment b,
            long bo,
            MemorySegment c,
            long co,
            int m,
            int n,
            int k,
            Cancel cancel) {
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            F32.fill(c, co, (long) m * n, 0f);
            return;
        }
        if ((long) m * n * k <= SMALL) {
            multiplySmall(a, ao, b, bo, c, co, m, n, k);
            return;
        }
        forEachBlock(k, n, (index, jc, nc, pc, kc) -> {
            float[] bp = packB(b, bo, n, pc, kc, jc, nc, bPanels.get());
            bPanels.set(bp);
            block(a, ao, k, c, co, m, n, jc, nc, pc, kc, bp, cancel);
        });
    }

    /**
     * A right-hand side packed once for every product that reads it (a model's weights, as ONNX
     * Runtime pre-packs them): its panels, one per (column block, depth block).
     */
    static final class PackedB implements Kernels.PackedOperand {
        private final int k;
        private final int n;
        private final float[][] panels;

        private PackedB(int k, int n, float[][] panels) {
            this.k = k;
            this.n = n;
            this.panels = panels;
        }

        /** Floats held, for the backend's bound on packed copies. */
        long floats() {
            long f = 0;
            for (float[] p : panels) {
                f += p.length;
            }
            return f;
        }
    }

    /** {@code b[bo..]} ({@code k x n}, row-major, dense) packed for the products that take it packed. */
    PackedB pack(MemorySegment b, long bo, int k, int n) {
        List<float[]> panels = new ArrayList<>();
        forEachBlock(k, n, (index, jc, nc, pc, kc) -> panels.add(packB(b, bo, n, pc, kc, jc, nc, new float[0])));
        return new PackedB(k, n, panels.toArray(float[][]::new));
    }

    /** {@code c[co..] = a[ao..] (m x k) x B}, with B packed by {@link #pack}; {@code k > 0}. */
    void multiply(MemorySegment a, long ao, PackedB b, MemorySegment c, long co, int m, Cancel cancel) {
        forEachBlock(
                b.k,
                b.n,
                (index, jc, nc, pc, kc) -> block(a, ao, b.k, c, co, m, b.n, jc, nc, pc, kc, b.panels[index], cancel));
    }

    /** One block of B: columns {@code [jc, jc + nc)}, depth {@code [pc, pc + kc)}, the {@code index}-th visited. */
    private interface BlockVisitor {
        void visit(int index, int jc, int nc, int pc, int kc);
    }

    /**
     * Visits B's blocks in the one order that products and packing share (column blocks of
     * {@link #NC}, each in depth blocks): a packed B's panels are found by the visit's index.
     */
    private static void forEachBlock(int k, int n, BlockVisitor visitor) {
        // A depth a little over KC in one pass beats two passes that re-read and re-write C.
        int depth = k <= KC * 3 / 2 ? k : KC;
        int index = 0;
        for (int jc = 0; jc < n; jc += NC) {
            for (int pc = 0; pc < k; pc += depth) {
                visitor.visit(index++, jc, Math.min(NC, n - jc), pc, Math.min(depth, k - pc));
            }
        }
    }

    /**
     * {@code C[:, jc:jc+nc] (+)= A[:, pc:pc+kc] x B-panel}, spread over the threads by blocks of rows
     * and, where there are fewer row blocks than threads (one short sentence), by groups of column
     * panels too, so that every thread has work; each task packs its own rows of A.
     */
    private void block(
            MemorySegment a,
            long ao,
            int k,
            MemorySegment c,
            long co,
            int m,
            int n,
            int jc,
            int nc,
            int pc,
            int kc,
            float[] bp,
            Cancel cancel) {
        int threads = parallel.threads();
        int blocks = Math.max(1, Math.ceilDiv(m, MC));
        blocks = Math.min(Math.ceilDiv(m, mr), roundUp(blocks, threads));
        int mc = roundUp(Math.ceilDiv(m, blocks), mr);
        int rowBlocks = Math.ceilDiv(m, mc);
        int panels = Math.ceilDiv(nc, nr);
        int groups = rowBlocks >= threads ? 1 : Math.min(panels, Math.ceilDiv(threads, rowBlocks));
        int perGroup = Math.ceilDiv(panels, groups);
        boolean accumulate = pc > 0;
        parallel.forEach(
                rowBlocks * groups,
                task -> {
                    int ic = (task / groups) * mc;
                    int rows = Math.min(mc, m - ic);
                    int firstPanel = (task % groups) * perGroup;
                    int lastPanel = Math.min(panels, firstPanel + perGroup);
                    float[] ap = aPanel(rows, kc);
                    packA(a, ao, k, ic, rows, pc, kc, ap);
                    float[] tile = tiles.get();
                    // A column panel of B (kc x nr) stays in L1 while it meets every row panel of
                    // the A block (in L2): B is read from memory once per block, not once per rows.
                    for (int panel = firstPanel; panel < lastPanel; panel++) {
                        int jr = panel * nr;
                        for (int ir = 0; ir < rows; ir += mr) {
                            simd.gemmTile(
                                    kc,
                                    ap,
                                    (ir / mr) * mr * kc,
                                    bp,
                                    panel * nr * kc,
                                    c,
                                    co + (long) (ic + ir) * n + jc + jr,
                                    n,
                                    Math.min(mr, rows - ir),
                                    Math.min(nr, nc - jr),
                                    accumulate,
                                    tile);
                        }
                    }
                },
                cancel);
    }

    /** Plain loop for small products: {@code c[i,:] = sum_p a[i,p] * b[p,:]}, a row at a time on the heap. */
    static void multiplySmall(
            MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment c, long co, int m, int n, int k) {
        float[] row = new float[n];
        for (int i = 0; i < m; i++) {
            java.util.Arrays.fill(row, 0f);
            for (int p = 0; p < k; p++) {
                float av = F32.get(a, ao + (long) i * k + p);
                long bp = bo + (long) p * n;
                for (int j = 0; j < n; j++) {
                    row[j] += av * F32.get(b, bp + j);
                }
            }
            MemorySegment.copy(row, 0, c, F32.LAYOUT, (co + (long) i * n) * Float.BYTES, n);
        }
    }

    private float[] aPanel(int rows, int kc) {
        int need = roundUp(rows, mr) * kc;
        float[] ap = aPanels.get();
        if (ap.length < need) {
            ap = new float[need];
            aPanels.set(ap);
        }
        return ap;
    }

    /**
     * Packs {@code B[pc:pc+kc, jc:jc+nc]} into {@code kc x nr} micro-panels, zero padded, into
     * {@code into} where it is large enough, else into a new array; returns the panels.
     */
    private float[] packB(MemorySegment b, long bo, int ldb, int pc, int kc, int jc, int nc, float[] into) {
        int panels = Math.ceilDiv(nc, nr);
        int need = panels * nr * kc;
        float[] bp = into.length >= need ? into : new float[need];
        int p = 0;
        for (int j = 0; j < nc; j += nr) {
            int w = Math.min(nr, nc - j);
            for (int q = 0; q < kc; q++) {
                long src = bo + (long) (pc + q) * ldb + jc + j;
                MemorySegment.copy(b, F32.LAYOUT, src * Float.BYTES, bp, p, w);
                if (w < nr) {
                    java.util.Arrays.fill(bp, p + w, p + nr, 0f);
                }
                p += nr;
            }
        }
        return bp;
    }

    /** Packs {@code A[ic:ic+rows, pc:pc+kc]} into {@code kc x mr} micro-panels, zero padded. */
    private void packA(MemorySegment a, long ao, int lda, int ic, int rows, int pc, int kc, float[] ap) {
        int p = 0;
        for (int i = 0; i < rows; i += mr) {
            int h = Math.min(mr, rows - i);
            long base = ao + (long) (ic + i) * lda + pc;
            for (int r = 0; r < mr; r++) {
                if (r < h) {
                    long row = base + (long) r * lda;
                    for (int q = 0; q < kc; q++) {
                        ap[p + q * mr + r] = F32.get(a, row + q);
                    }
                } else {
                    for (int q = 0; q < kc; q++) {
                        ap[p + q * mr + r] = 0f;
                    }
                }
            }
            p += kc * mr;
        }
    }

    private static int roundUp(int x, int multiple) {
        return Math.ceilDiv(x, multiple) * multiple;
    }
}
