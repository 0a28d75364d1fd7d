package org.backplane.testkit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.backplane.api.BinaryOp;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.UnaryOp;
import org.backplane.cpu.reference.ReferenceKernels;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every op against the float64 reference kernels, on seeded random shapes that include
 * broadcasting, zero- and one-sized dimensions, scalars, shapes large enough to be split across
 * threads, and NaN/Inf/-0 inputs (IEEE 754 propagation).
 *
 * <p>Tolerances follow the error analysis of float32 arithmetic ({@code u = 2^-24}): elementwise
 * arithmetic, transpose and max are exact; transcendental functions are within a few ulps; sums
 * and products of length {@code k} are within {@code (k + 2) u} times the sum of the magnitudes.
 */
public abstract class NumericConformanceTests extends ContractTestSupport {
    private static final double U = 0x1.0p-24;
    /** IEEE specials and edge values for elementwise ops, where float32 and float64 round alike. */
    private static final float[] SPECIALS = {
        Float.NaN,
        Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY,
        -0.0f,
        0.0f,
        1e-40f,
        -1e-40f,
        88.5f,
        -88.5f,
        100f,
        -100f,
        Float.MAX_VALUE,
        -Float.MAX_VALUE,
        1e-30f
    };
    /**
     * Specials for sums and products: no values near the float32 maximum, whose float32 partial sums
     * overflow where the float64 reference's do not (a property of float32, not an error).
     */
    private static final float[] ACCUMULATION_SPECIALS = {
        Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0.0f, 0.0f, 1e-40f, -1e-40f, 1e-30f, 100f, -100f
    };

    private ComputeStream s;
    private Random random;

    @BeforeEach
    void openStream() {
        s = backend.openStream("numeric");
        random = new Random(20261124);
    }

    @Test
    void unaryOps() {
        for (UnaryOp op : UnaryOp.values()) {
            for (int c = 0; c < 40; c++) {
                Shape shape = c == 0 ? Shape.of(400, 500) : randomShape(4, 7);
                float[] x = values(
                        shape.size(), c % 3 == 0 ? 0.2 : 0.0, op == UnaryOp.LOG || op == UnaryOp.SQRT ? 0 : -4, 4);
                float[] actual = s.unary(op, s.upload(x, shape.dims())).download();
                float[] expected = ReferenceKernels.unary(op, x);
                String what = op + " " + shape + " case " + c;
                switch (op) {
                    case NEG, ABS, RELU, SQRT -> ArrayAssertions.assertExact(expected, actual, what);
                    default -> ArrayAssertions.assertWithinUlps(expected, actual, 4, 1e-37, what);
                }
            }
        }
    }

    @Test
    void binaryOpsWithBroadcasting() {
        for (BinaryOp op : BinaryOp.values()) {
            for (int c = 0; c < 60; c++) {
                Shape as = c == 0 ? Shape.of(300, 600) : randomShape(4, 6);
                Shape bs = c == 0 ? Shape.of(600) : broadcastPartner(as);
                if (random.nextBoolean()) {
                    Shape t = as;
                    as = bs;
                    bs = t;
                }
                double specials = c % 4 == 0 ? 0.2 : 0.0;
                float[] a = values(as.size(), specials, -4, 4);
                float[] b = values(bs.size(), specials, -4, 4);
                if (op == BinaryOp.DIV && c % 5 == 0 && b.length > 0) {
                    b[random.nextInt(b.length)] = 0f;
                }
                float[] actual = s.binary(op, s.upload(a, as.dims()), s.upload(b, bs.dims()))
                        .download();
                ArrayAssertions.assertExact(
                        ReferenceKernels.binary(op, a, as, b, bs), actual, op + " " + as + " with " + bs);
            }
        }
    }

    @Test
    void matmulTwoDimensional() {
        List<int[]> sizes = new ArrayList<>(List.of(
                new int[] {0, 3, 4},
                new int[] {3, 0, 4},
                new int[] {3, 4, 0},
                new int[] {1, 1, 1},
                new int[] {1, 700, 1},
                new int[] {1, 300, 500},
                new int[] {6, 256, 32},
                new int[] {7, 257, 33},
                new int[] {97, 260, 131},
                new int[] {200, 600, 150},
                new int[] {130, 64, 1}));
        for (int c = 0; c < 40; c++) {
            sizes.add(new int[] {1 + random.nextInt(70), 1 + random.nextInt(70), 1 + random.nextInt(70)});
        }
        for (int[] d : sizes) {
            checkMatmul(Shape.of(d[0], d[1]), Shape.of(d[1], d[2]), 0.0);
        }
        checkMatmul(Shape.of(13, 17), Shape.of(17, 11), 0.1);
    }

    @Test
    void matmulBatchedWithBroadcastBatch() {
        int[][] cases = {
            {3, 5, 7, 4, 3}, {1, 5, 7, 4, 3}, {3, 5, 7, 4, 1}, {4, 20, 70, 30, 4}, {2, 64, 300, 70, 2}, {6, 1, 1, 1, 6}
        };
        for (int[] c : cases) {
            int ba = c[0];
            int m = c[1];
            int k = c[2];
            int n = c[3];
            int bb = c[4];
            checkMatmul(Shape.of(ba, m, k), Shape.of(bb, k, n), 0.0);
            checkMatmul(Shape.of(ba, m, k), Shape.of(k, n), 0.0);
            checkMatmul(Shape.of(m, k), Shape.of(bb, k, n), 0.0);
        }
        checkMatmul(Shape.of(500, 3, 4), Shape.of(500, 4, 2), 0.05);
    }

    private void checkMatmul(Shape as, Shape bs, double specials) {
        float[] a = values(as.size(), specials, -1, 1, ACCUMULATION_SPECIALS);
        float[] b = values(bs.size(), specials, -1, 1, ACCUMULATION_SPECIALS);
        float[] actual =
                s.matmul(s.upload(a, as.dims()), s.upload(b, bs.dims())).download();
        float[] expected = ReferenceKernels.matmul(a, as, b, bs);
        float[] magnitude = ReferenceKernels.matmul(abs(a), as, abs(b), bs);
        int k = as.dim(-1);
        ArrayAssertions.assertWithinBound(expected, actual, bound(expected, magnitude, k), "matmul " + as + " x " + bs);
    }

    @Test
    void transposes() {
        for (int c = 0; c < 60; c++) {
            Shape shape = c == 0 ? Shape.of(700, 300) : c == 1 ? Shape.of(3, 200, 170) : randomShape(5, 6);
            int[] perm = c < 2 ? (c == 0 ? new int[] {1, 0} : new int[] {0, 2, 1}) : permutation(shape.rank());
            float[] x = values(shape.size(), 0.1, -10, 10);
            float[] actual = (c % 7 == 0 && shape.rank() > 0
                            ? s.transpose(s.upload(x, shape.dims()))
                            : s.transpose(s.upload(x, shape.dims()), perm))
                    .download();
            int[] used = c % 7 == 0 && shape.rank() > 0 ? reversed(shape.rank()) : perm;
            ArrayAssertions.assertExact(
                    ReferenceKernels.transpose(x, shape, used),
                    actual,
                    "transpose " + shape + " by " + Arrays.toString(used));
        }
    }

    @Test
    void reductionsOverOneAxisAndAll() {
        for (ReduceOp op : ReduceOp.values()) {
            for (int c = 0; c < 50; c++) {
                // Long rows, one or a few of them: GPUs split those across many blocks (c = 2, 3).
                Shape shape = c == 0
                        ? Shape.of(1000, 300)
                        : c == 1
                                ? Shape.of(300, 1000)
                                : c == 2 ? Shape.of(400_000) : c == 3 ? Shape.of(3, 300_001) : randomShape(4, 7);
                boolean all = c % 5 == 4 || shape.rank() == 0;
                int axis = c == 3
                        ? -1
                        : all ? 0 : random.nextInt(shape.rank()) - (random.nextBoolean() ? shape.rank() : 0);
                if (op == ReduceOp.MAX && (all ? shape.size() == 0 : shape.dim(axis) == 0)) {
                    continue; // rejected as bad input; covered by the bad-input tests
                }
                float[] x = values(shape.size(), c % 3 == 0 ? 0.05 : 0.0, -2, 2, ACCUMULATION_SPECIALS);
                DeviceArray in = s.upload(x, shape.dims());
                float[] actual = (all ? s.reduce(op, in) : s.reduce(op, in, axis)).download();
                float[] expected =
                        all ? ReferenceKernels.reduceAll(op, x) : ReferenceKernels.reduce(op, x, shape, axis);
                String what = op + " " + shape + (all ? " all" : " axis " + axis);
                if (op == ReduceOp.MAX) {
                    ArrayAssertions.assertExact(expected, actual, what);
                } else {
                    float[] magnitude = all
                            ? ReferenceKernels.reduceAll(op, abs(x))
                            : ReferenceKernels.reduce(op, abs(x), shape, axis);
                    long len = all ? shape.size() : shape.dim(axis);
                    ArrayAssertions.assertWithinBound(expected, actual, bound(expected, magnitude, len), what);
                }
            }
        }
    }

    @Test
    void softmaxOverTheLastAxis() {
        for (int c = 0; c < 50; c++) {
            Shape shape = c == 0 ? Shape.of(2000, 100) : c == 1 ? Shape.of(3, 5000) : randomShape(4, 8);
            if (shape.rank() == 0) {
                shape = Shape.of(5);
            }
            float[] x = values(shape.size(), c % 4 == 0 ? 0.1 : 0.0, -6, 6, ACCUMULATION_SPECIALS);
            float[] actual = s.softmax(s.upload(x, shape.dims())).download();
            float[] expected = ReferenceKernels.softmax(x, shape);
            int n = shape.dim(-1);
            double[] bound = new double[expected.length];
            for (int i = 0; i < bound.length; i++) {
                bound[i] = (n + 32) * U * Math.abs(expected[i]) + 1e-37;
            }
            ArrayAssertions.assertWithinBound(expected, actual, bound, "softmax " + shape);
        }
    }

    @Test
    void fillAndScalars() {
        Shape scalar = Shape.scalar();
        DeviceArray x = s.upload(new float[] {2.5f});
        assertShape(x, scalar);
        ArrayAssertions.assertExact(new float[] {-2.5f}, s.neg(x).download(), "neg of a scalar");
        ArrayAssertions.assertExact(
                new float[] {5f, 5f}, s.add(x, s.full(2.5f, 2)).download(), "scalar broadcast");
        ArrayAssertions.assertExact(new float[] {2.5f}, s.sum(x).download(), "sum of a scalar");
        ArrayAssertions.assertExact(new float[] {-0.0f, -0.0f}, s.full(-0.0f, 2).download(), "fill keeps -0");
        ArrayAssertions.assertExact(new float[0], s.full(1f, 0, 5).download(), "empty fill");
        ArrayAssertions.assertExact(new float[] {0f}, s.sum(s.full(1f, 0)).download(), "empty sum is 0");
        ArrayAssertions.assertExact(
                new float[] {Float.NaN}, s.mean(s.full(1f, 0)).download(), "empty mean is NaN");
    }

    private static void assertShape(DeviceArray a, Shape expected) {
        if (!a.shape().equals(expected)) {
            throw new AssertionError("shape " + a.shape() + " but expected " + expected);
        }
    }

    /** Error bound {@code (len + 2) u * magnitude + u * |expected|} per element. */
    private static double[] bound(float[] expected, float[] magnitude, long len) {
        double[] b = new double[expected.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (len + 2) * U * magnitude[i] + U * Math.abs(expected[i]) + 1e-37;
        }
        return b;
    }

    private static float[] abs(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = Math.abs(x[i]);
        }
        return out;
    }

    /** Values uniform in [lo, hi), with a share of IEEE specials and edge values. */
    private float[] values(long n, double specialShare, float lo, float hi) {
        return values(n, specialShare, lo, hi, SPECIALS);
    }

    private float[] values(long n, double specialShare, float lo, float hi, float[] specials) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = random.nextDouble() < specialShare
                    ? specials[random.nextInt(specials.length)]
                    : lo + random.nextFloat() * (hi - lo);
        }
        return v;
    }

    /** Rank 0..maxRank, dimensions 0..maxDim with extra weight on 1 and some 0s. */
    private Shape randomShape(int maxRank, int maxDim) {
        int rank = random.nextInt(maxRank + 1);
        int[] dims = new int[rank];
        for (int i = 0; i < rank; i++) {
            int pick = random.nextInt(10);
            dims[i] = pick == 0 ? 0 : pick <= 2 ? 1 : 2 + random.nextInt(maxDim - 1);
        }
        return Shape.of(dims);
    }

    /** A shape that broadcasts with {@code a}: some leading axes dropped, some axes set to 1. */
    private Shape broadcastPartner(Shape a) {
        int drop = a.rank() == 0 ? 0 : random.nextInt(a.rank() + 1);
        int[] dims = Arrays.copyOfRange(a.dims(), drop, a.rank());
        for (int i = 0; i < dims.length; i++) {
            if (random.nextInt(3) == 0) {
                dims[i] = 1;
            }
        }
        if (drop == 0 && random.nextInt(5) == 0) {
            int[] longer = new int[dims.length + 1];
            longer[0] = 1 + random.nextInt(3);
            System.arraycopy(dims, 0, longer, 1, dims.length);
            dims = longer;
        }
        return Shape.of(dims);
    }

    private int[] permutation(int rank) {
        List<Integer> axes = new ArrayList<>();
        for (int i = 0; i < rank; i++) {
            axes.add(i);
        }
        java.util.Collections.shuffle(axes, random);
        return axes.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int[] reversed(int rank) {
        int[] r = new int[rank];
        for (int i = 0; i < rank; i++) {
            r[i] = rank - 1 - i;
        }
        return r;
    }
}
