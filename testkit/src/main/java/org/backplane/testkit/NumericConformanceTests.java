package org.backplane.testkit;

import static org.backplane.testkit.TensorAssertions.assertClose;
import static org.backplane.testkit.TensorAssertions.assertExact;
import static org.backplane.testkit.TestArrays.download;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.backplane.api.BinaryOp;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.UnaryOp;
import org.backplane.cpu.reference.ReferenceKernels;
import org.backplane.cpu.reference.Tensor;
import org.backplane.spi.Scalar;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every op, in every type it accepts, against the float64 reference kernels, on seeded random
 * shapes that include broadcasting, size-0 and size-1 axes, scalars, shapes large enough to be
 * split across threads or thread blocks, NaN/±Inf/-0/subnormal inputs, and strided views as inputs
 * (slices with steps, reversed slices, transposes).
 *
 * <p>Tolerances follow the error analysis of float32 arithmetic ({@code u = 2^-24}): elementwise
 * arithmetic, conversions, selection and max/min are exact; transcendental functions are within a
 * few ulps; sums and products of length {@code k} are within {@code (k + 2) u} times the sum of
 * the magnitudes. {@code float16} and {@code bfloat16} results may differ from the reference by one
 * unit of their own precision (they are computed in float32 and rounded once, the reference in
 * float64); attention in half precision by three (the softmax is rounded to the type before the
 * second product, as cuBLAS takes it).
 */
public abstract class NumericConformanceTests extends ContractTestSupport {
    private static final double U = 0x1.0p-24;
    private static final DType[] ALL = DType.values();
    private static final DType[] FLOATS = {DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16};
    /** Operand type pairs of binary ops: each type with itself, and the promotions models meet. */
    private static final DType[][] PAIRS = {
        {DType.FLOAT32, DType.FLOAT32},
        {DType.FLOAT16, DType.FLOAT16},
        {DType.BFLOAT16, DType.BFLOAT16},
        {DType.INT32, DType.INT32},
        {DType.INT64, DType.INT64},
        {DType.BOOL, DType.BOOL},
        {DType.INT32, DType.FLOAT32},
        {DType.INT64, DType.INT32},
        {DType.BOOL, DType.INT32},
        {DType.FLOAT16, DType.BFLOAT16},
        {DType.FLOAT16, DType.FLOAT32},
        {DType.BFLOAT16, DType.INT64}
    };

    private ComputeStream s;
    private TestArrays data;

    @BeforeEach
    void openStream() {
        s = backend.openStream("numeric");
        data = new TestArrays(20261130);
    }

    // ---------------------------------------------------------------- elementwise

    @Test
    void unaryOpsInEveryType() {
        for (UnaryOp op : UnaryOp.values()) {
            for (DType type : ALL) {
                for (int c = 0; c < 10; c++) {
                    Shape shape = c == 0 && type == DType.FLOAT32 ? Shape.of(300, 400) : data.shape(4, 6);
                    boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT;
                    Tensor x =
                            data.tensor(type, shape, positive ? 0 : -4, 4, c % 3 == 0 ? 0.2 : 0, TestArrays.SPECIALS);
                    Tensor actual = download(s.unary(op, data.input(s, x, c % 2 == 1)));
                    Tensor expected = ReferenceKernels.unary(op, x);
                    String what = op + " of " + type.id() + " " + shape + " case " + c;
                    switch (op) {
                        case NEG, ABS, RELU, LOGICAL_NOT, FLOOR -> assertExact(expected, actual, what);
                        case ERF, GELU, GELU_TANH, SILU ->
                            assertClose(expected, actual, null, 32 * U, 0x1.0p-126, 1, what);
                        case SQRT, RECIPROCAL -> assertClose(expected, actual, null, 2 * U, 0, 1, what);
                        case SIN, COS -> assertClose(expected, actual, null, 8 * U, 4 * U, 1, what);
                        default -> assertClose(expected, actual, null, 8 * U, 0x1.0p-126, 1, what);
                    }
                }
            }
        }
    }

    @Test
    void binaryOpsWithBroadcastingInEveryTypePair() {
        for (BinaryOp op : BinaryOp.values()) {
            for (DType[] pair : PAIRS) {
                for (int c = 0; c < 8; c++) {
                    Shape as = c == 0 && pair[0] == DType.FLOAT32 ? Shape.of(300, 600) : data.shape(4, 6);
                    Shape bs = c == 0 && pair[0] == DType.FLOAT32 ? Shape.of(600) : data.broadcastPartner(as);
                    if (data.random().nextBoolean()) {
                        Shape t = as;
                        as = bs;
                        bs = t;
                    }
                    double specials = c % 4 == 0 ? 0.2 : 0.0;
                    Tensor a = data.tensor(pair[0], as, -4, 4, specials, TestArrays.SPECIALS);
                    Tensor b = data.tensor(pair[1], bs, -4, 4, specials, TestArrays.SPECIALS);
                    Tensor actual = download(s.binary(op, data.input(s, a, c % 2 == 1), data.input(s, b, c % 3 == 1)));
                    checkBinary(
                            op,
                            ReferenceKernels.binary(op, a, b),
                            actual,
                            pair[0].id() + " " + as + " " + op + " " + pair[1].id() + " " + bs);
                }
            }
        }
    }

    private static void checkBinary(BinaryOp op, Tensor expected, Tensor actual, String what) {
        if (op == BinaryOp.POW) {
            assertClose(expected, actual, null, 8 * U, 0x1.0p-126, 1, what);
        } else {
            assertExact(expected, actual, what);
        }
    }

    @Test
    void binaryOpsWithJavaScalars() {
        Scalar[] scalars = {
            Scalar.of(0.125), Scalar.of(-3.5), Scalar.of(Double.NaN), Scalar.of(Double.NEGATIVE_INFINITY),
            Scalar.of(3L), Scalar.of(-7L), Scalar.of(0L), Scalar.of(1L << 40)
        };
        for (BinaryOp op : BinaryOp.values()) {
            for (DType type : ALL) {
                for (Scalar scalar : scalars) {
                    for (boolean first : new boolean[] {false, true}) {
                        Shape shape = data.shape(3, 5);
                        Tensor x = data.tensor(type, shape, -4, 4, 0.1, TestArrays.SPECIALS);
                        DeviceArray in = data.input(s, x, data.random().nextBoolean());
                        DeviceArray r = scalar.integral()
                                ? (first ? s.binary(op, scalar.integer(), in) : s.binary(op, in, scalar.integer()))
                                : (first ? s.binary(op, scalar.value(), in) : s.binary(op, in, scalar.value()));
                        checkBinary(
                                op,
                                ReferenceKernels.binaryScalar(op, x, scalar, first),
                                download(r),
                                (first ? scalar + " " + op + " " + type.id() : type.id() + " " + op + " " + scalar)
                                        + " " + shape);
                    }
                }
            }
        }
    }

    @Test
    void integerArithmeticWrapsAndDivisionIsTrueDivision() {
        DeviceArray big = s.upload(new int[] {Integer.MAX_VALUE, Integer.MIN_VALUE, 7, -7}, 4);
        DeviceArray two = s.upload(new int[] {2, 2, 2, 2}, 4);
        assertArrayEquals(new int[] {-2, 0, 14, -14}, s.mul(big, two).downloadInts(), "int32 mul wraps");
        assertArrayEquals(
                new int[] {-Integer.MAX_VALUE, Integer.MIN_VALUE, -7, 7},
                s.neg(big).downloadInts(),
                "int32 neg wraps");
        DeviceArray q = s.div(big, two);
        if (q.dtype() != DType.FLOAT32) {
            throw new AssertionError("int32 / int32 gives " + q.dtype().id() + ", not float32");
        }
        float[] expected = {Integer.MAX_VALUE / 2f, Integer.MIN_VALUE / 2f, 3.5f, -3.5f};
        if (!Arrays.equals(expected, q.download())) {
            throw new AssertionError("int32 / int32 is " + Arrays.toString(q.download()));
        }
        DeviceArray l = s.upload(new long[] {Long.MAX_VALUE, 1L << 53, -(1L << 60)}, 3);
        long[] sum = s.add(l, 1L).downloadLongs();
        if (!Arrays.equals(new long[] {Long.MIN_VALUE, (1L << 53) + 1, -(1L << 60) + 1}, sum)) {
            throw new AssertionError("int64 + 1 is exact and wraps: " + Arrays.toString(sum));
        }
    }

    private static void assertArrayEquals(int[] expected, int[] actual, String what) {
        if (!Arrays.equals(expected, actual)) {
            throw new AssertionError(
                    what + ": " + Arrays.toString(actual) + " but expected " + Arrays.toString(expected));
        }
    }

    @Test
    void whereSelectsWithBroadcasting() {
        for (DType[] pair : PAIRS) {
            for (int c = 0; c < 10; c++) {
                Shape shape = data.shape(4, 5);
                Tensor cond = data.tensor(
                        c % 3 == 0 ? DType.FLOAT32 : DType.BOOL,
                        data.broadcastPartner(shape),
                        -1,
                        1,
                        0.2,
                        new double[] {0, Double.NaN, -0.0});
                Tensor a = data.tensor(pair[0], data.innerPartner(shape), -9, 9, 0.1, TestArrays.SPECIALS);
                Tensor b = data.tensor(pair[1], shape, -9, 9, 0.1, TestArrays.SPECIALS);
                Tensor actual = download(s.where(
                        data.input(s, cond, c % 2 == 0), data.input(s, a, c % 2 == 1), data.input(s, b, c % 4 == 1)));
                assertExact(
                        ReferenceKernels.where(cond, a, b),
                        actual,
                        "where " + cond.shape() + ", " + pair[0].id() + " " + a.shape() + ", " + pair[1].id() + " "
                                + b.shape());
            }
        }
    }

    @Test
    void astypeConvertsBetweenEveryPairOfTypes() {
        double[] edges = {
            Double.NaN,
            Double.POSITIVE_INFINITY,
            Double.NEGATIVE_INFINITY,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -2.5,
            65504,
            65520,
            1e10,
            -1e10,
            3e9,
            -3e9,
            1e-8,
            1e-40,
            16777217
        };
        for (DType from : ALL) {
            for (DType to : ALL) {
                for (int c = 0; c < 4; c++) {
                    Shape shape = c == 0 ? Shape.of(edges.length) : data.shape(3, 6);
                    Tensor x = c == 0
                            ? Tensor.of(from, shape, edges)
                            : from.isInteger()
                                    ? data.tensor(from, shape, -100_000, 100_000)
                                    : data.tensor(from, shape, -1e6, 1e6, 0.2, edges);
                    Tensor actual = download(s.astype(data.input(s, x, c % 2 == 1), to));
                    assertExact(
                            ReferenceKernels.cast(x, to),
                            actual,
                            "astype " + from.id() + " " + shape + " to " + to.id());
                }
            }
        }
    }

    @Test
    void fillAndScalars() {
        DeviceArray x = s.upload(new float[] {2.5f});
        if (!x.shape().equals(Shape.scalar())) {
            throw new AssertionError("upload of one value without a shape is " + x.shape());
        }
        assertExact(Tensor.of(new float[] {-2.5f}), download(s.neg(x)), "neg of a scalar");
        assertExact(Tensor.of(new float[] {5f, 5f}, 2), download(s.add(x, s.full(2.5f, 2))), "scalar broadcast");
        assertExact(Tensor.of(new float[] {-0.0f, -0.0f}, 2), download(s.full(-0.0f, 2)), "fill keeps -0");
        assertExact(Tensor.of(new float[0], 0, 5), download(s.full(1f, 0, 5)), "empty fill");
        assertExact(Tensor.of(new float[] {0f}), download(s.sum(s.full(1f, 0))), "empty sum is 0");
        assertExact(Tensor.of(new float[] {Float.NaN}), download(s.mean(s.full(1f, 0))), "empty mean is NaN");
        for (DType type : ALL) {
            for (double v : new double[] {0, -1.5, 3, 1e10, Double.NaN, Double.NEGATIVE_INFINITY}) {
                Tensor actual = download(s.full(type, v, 2, 3));
                assertExact(ReferenceKernels.fill(type, v, Shape.of(2, 3)), actual, "full " + type.id() + " " + v);
            }
        }
    }

    // ---------------------------------------------------------------- views, joins and indexing

    @Test
    void viewsReadBackAndFeedOps() {
        for (DType type : ALL) {
            for (int c = 0; c < 30; c++) {
                Shape shape = data.nonEmptyShape(1, 4, 6);
                Tensor x = data.tensor(type, shape, -9, 9, 0.1, TestArrays.SPECIALS);
                DeviceArray view = s.upload(x.toSegment(), type, shape.dims());
                Tensor expected = x;
                StringBuilder what = new StringBuilder(type.id() + " " + shape);
                for (int step = 0; step < 3; step++) {
                    int rank = expected.shape().rank();
                    switch (data.random().nextInt(5)) {
                        case 0 -> {
                            int[] perm = data.permutation(rank);
                            view = s.transpose(view, perm);
                            expected = ReferenceKernels.transpose(expected, perm);
                            what.append(" transpose ").append(Arrays.toString(perm));
                        }
                        case 1 -> {
                            int[] start = new int[rank];
                            int[] stop = new int[rank];
                            int[] stepBy = new int[rank];
                            for (int i = 0; i < rank; i++) {
                                int n = expected.shape().dim(i);
                                stepBy[i] = (data.random().nextBoolean() ? 1 : -1)
                                        * (1 + data.random().nextInt(3));
                                start[i] = data.random().nextInt(2 * n + 1) - n;
                                stop[i] = data.random().nextInt(4) == 0
                                        ? (stepBy[i] > 0 ? Integer.MAX_VALUE : Integer.MIN_VALUE)
                                        : data.random().nextInt(2 * n + 1) - n;
                            }
                            view = s.slice(view, start, stop, stepBy);
                            expected = ReferenceKernels.slice(expected, start, stop, stepBy);
                            what.append(" slice ")
                                    .append(Arrays.toString(start))
                                    .append(Arrays.toString(stop))
                                    .append(Arrays.toString(stepBy));
                        }
                        case 2 -> {
                            int axis = data.random().nextInt(rank + 1);
                            view = s.expandDims(view, axis);
                            int[] dims = expected.shape().dims();
                            int[] nd = new int[rank + 1];
                            for (int i = 0, j = 0; i < nd.length; i++) {
                                nd[i] = i == axis ? 3 : dims[j++];
                            }
                            view = s.broadcastTo(view, nd);
                            expected = ReferenceKernels.broadcastTo(
                                    ReferenceKernels.reshape(expected, withOne(dims, axis)), nd);
                            what.append(" expand+broadcast ").append(axis);
                        }
                        case 3 -> {
                            int[] flat = {-1};
                            view = s.reshape(view, flat);
                            expected = ReferenceKernels.reshape(expected, flat);
                            what.append(" flatten");
                        }
                        default -> {
                            view = s.squeeze(view);
                            expected = ReferenceKernels.reshape(expected, squeezed(expected.shape()));
                            what.append(" squeeze");
                        }
                    }
                }
                Tensor read;
                try {
                    read = download(view);
                } catch (RuntimeException e) {
                    throw new AssertionError("read of " + what, e);
                }
                assertExact(expected, read, "read of " + what);
                assertExact(ReferenceKernels.unary(UnaryOp.NEG, expected), download(s.neg(view)), "neg of " + what);
            }
        }
    }

    private static int[] withOne(int[] dims, int axis) {
        int[] nd = new int[dims.length + 1];
        for (int i = 0, j = 0; i < nd.length; i++) {
            nd[i] = i == axis ? 1 : dims[j++];
        }
        return nd;
    }

    private static int[] squeezed(Shape shape) {
        return Arrays.stream(shape.dims()).filter(d -> d != 1).toArray();
    }

    @Test
    void transposesOfLargeArrays() {
        for (int[] dims : new int[][] {{700, 300}, {3, 200, 170}, {64, 2, 33, 5}}) {
            Shape shape = Shape.of(dims);
            Tensor x = data.tensor(DType.FLOAT32, shape, -10, 10, 0.1, TestArrays.SPECIALS);
            int[] perm = data.permutation(dims.length);
            Tensor actual = download(s.transpose(TestArrays.upload(s, x), perm));
            assertExact(
                    ReferenceKernels.transpose(x, perm), actual, "transpose " + shape + " by " + Arrays.toString(perm));
        }
    }

    @Test
    void concatenateStackAndSplit() {
        for (int c = 0; c < 40; c++) {
            Shape base = data.nonEmptyShape(1, 4, 5);
            int axis = data.random().nextInt(base.rank());
            int parts = 1 + data.random().nextInt(3);
            List<Tensor> tensors = new ArrayList<>();
            List<DeviceArray> arrays = new ArrayList<>();
            for (int p = 0; p < parts; p++) {
                int[] dims = base.dims();
                dims[axis] = data.random().nextInt(4);
                DType type = c % 3 == 0 ? ALL[data.random().nextInt(ALL.length)] : ALL[c % ALL.length];
                Tensor t = data.tensor(type, Shape.of(dims), -9, 9, 0.1, TestArrays.SPECIALS);
                tensors.add(t);
                arrays.add(data.input(s, t, p % 2 == 1));
            }
            Tensor expected = ReferenceKernels.concatenate(tensors, axis);
            int negative = axis - base.rank();
            assertExact(
                    expected,
                    download(s.concatenate(arrays, c % 2 == 0 ? axis : negative)),
                    "concatenate along " + axis + " of "
                            + tensors.stream()
                                    .map(t -> t.dtype().id() + t.shape())
                                    .toList());
            int total = expected.shape().dim(axis);
            int[] sizes = {total / 2, total - total / 2};
            List<DeviceArray> split = s.split(TestArrays.upload(s, expected), sizes, axis);
            int start = 0;
            for (int i = 0; i < sizes.length; i++) {
                int[] from = new int[base.rank()];
                int[] to = expected.shape().dims();
                int[] step = new int[base.rank()];
                Arrays.fill(step, 1);
                from[axis] = start;
                to[axis] = start + sizes[i];
                assertExact(
                        ReferenceKernels.slice(expected, from, to, step), download(split.get(i)), "split part " + i);
                start += sizes[i];
            }
        }
        Tensor a = data.tensor(DType.INT32, Shape.of(2, 3), -9, 9);
        Tensor b = data.tensor(DType.INT32, Shape.of(2, 3), -9, 9);
        DeviceArray stacked = s.stack(List.of(TestArrays.upload(s, a), TestArrays.upload(s, b)), 1);
        Tensor expected = ReferenceKernels.concatenate(
                List.of(ReferenceKernels.reshape(a, 2, 1, 3), ReferenceKernels.reshape(b, 2, 1, 3)), 1);
        assertExact(expected, download(stacked), "stack along axis 1");
    }

    @Test
    void takeAlongAnAxisWithNegativeIndices() {
        for (DType type : ALL) {
            for (int c = 0; c < 12; c++) {
                Shape shape = data.nonEmptyShape(1, 3, 6);
                int axis = data.random().nextInt(shape.rank());
                int n = shape.dim(axis);
                Shape indexShape = data.shape(2, 4);
                DType indexType = c % 2 == 0 ? DType.INT32 : DType.INT64;
                Tensor indices = data.tensor(indexType, indexShape, -n, n - 1);
                Tensor x = data.tensor(type, shape, -9, 9, 0.1, TestArrays.SPECIALS);
                Tensor actual =
                        download(s.take(data.input(s, x, c % 3 == 0), data.input(s, indices, c % 3 == 1), axis));
                assertExact(
                        ReferenceKernels.take(x, indices, axis),
                        actual,
                        "take " + indexType.id() + indexShape + " along " + axis + " of " + type.id() + shape);
            }
        }
        // An embedding lookup: rows of a [vocab, hidden] table.
        Tensor table = data.tensor(DType.FLOAT32, Shape.of(1000, 64), -1, 1);
        Tensor ids = data.tensor(DType.INT64, Shape.of(8, 128), 0, 999);
        assertExact(
                ReferenceKernels.take(table, ids, 0),
                download(s.take(TestArrays.upload(s, table), TestArrays.upload(s, ids), 0)),
                "embedding lookup");
    }

    @Test
    void argmaxAndArgminTakeTheFirstExtremeAndNaN() {
        for (DType type : ALL) {
            for (int c = 0; c < 12; c++) {
                Shape shape = data.nonEmptyShape(1, 4, 6);
                int axis = data.random().nextInt(shape.rank());
                Tensor x = data.tensor(type, shape, -3, 3, c % 3 == 0 ? 0.1 : 0, TestArrays.SPECIALS);
                boolean keep = c % 2 == 0;
                DeviceArray in = data.input(s, x, c % 4 == 1);
                Tensor expectedMax = ReferenceKernels.argReduce(true, x, axis, keep);
                Tensor expectedMin = ReferenceKernels.argReduce(false, x, axis, keep);
                assertExact(
                        expectedMax, download(s.argmax(in, axis, keep)), "argmax " + type.id() + shape + " " + axis);
                assertExact(
                        expectedMin, download(s.argmin(in, axis, keep)), "argmin " + type.id() + shape + " " + axis);
            }
        }
    }

    @Test
    void cumsumAlongAnAxis() {
        for (DType type : ALL) {
            for (int c = 0; c < 12; c++) {
                Shape shape = c == 0 && type == DType.FLOAT32 ? Shape.of(3, 100_000) : data.nonEmptyShape(1, 4, 7);
                int axis = c == 0 && type == DType.FLOAT32 ? 1 : data.random().nextInt(shape.rank());
                Tensor x = data.tensor(type, shape, -2, 2, c % 3 == 0 ? 0.05 : 0, TestArrays.ACCUMULATION_SPECIALS);
                Tensor actual = download(s.cumsum(data.input(s, x, c % 2 == 1), axis));
                Tensor expected = ReferenceKernels.cumsum(x, axis);
                Tensor magnitude = ReferenceKernels.cumsum(TestArrays.abs(x), axis);
                int len = shape.dim(axis);
                assertClose(
                        expected,
                        actual,
                        magnitude,
                        (len + 2) * U,
                        1e-37,
                        1,
                        "cumsum " + type.id() + shape + " " + axis);
            }
        }
    }

    // ---------------------------------------------------------------- reductions and normalisation

    @Test
    void reductionsOverAxesWithKeepDims() {
        for (ReduceOp op : ReduceOp.values()) {
            for (DType type : ALL) {
                for (int c = 0; c < 12; c++) {
                    boolean big = type == DType.FLOAT32 && c < 4;
                    Shape shape = big
                            ? new Shape[] {
                                        Shape.of(1000, 300),
                                        Shape.of(300, 1000),
                                        Shape.of(400_000),
                                        Shape.of(3, 300_001)
                                    }
                                    [c]
                            : data.shape(4, 6);
                    int[] axes = axes(shape, c);
                    boolean keep = c % 2 == 1;
                    int[] normal = normalAxes(shape, axes);
                    long len = 1;
                    for (int a : normal) {
                        len *= shape.dim(a);
                    }
                    if ((op == ReduceOp.MAX || op == ReduceOp.MIN) && len == 0 && shape.size() == 0) {
                        continue; // no identity: rejected as bad input (the bad-input tests)
                    }
                    if ((op == ReduceOp.MAX || op == ReduceOp.MIN) && len == 0) {
                        continue;
                    }
                    double lo = op == ReduceOp.PROD ? 0.5 : -2;
                    double hi = op == ReduceOp.PROD ? 1.5 : 2;
                    // Products meet no tiny values: float32 products of them underflow to 0 (and 0 x inf is
                    // NaN) where float64's do not, a property of float32 rather than an error.
                    double[] specials =
                            op == ReduceOp.PROD ? TestArrays.PRODUCT_SPECIALS : TestArrays.ACCUMULATION_SPECIALS;
                    Tensor x = data.tensor(type, shape, lo, hi, c % 3 == 0 ? 0.02 : 0, specials);
                    DeviceArray in = data.input(s, x, c % 4 == 2);
                    Tensor actual = download(axes == null ? s.reduce(op, in) : s.reduce(op, in, axes, keep));
                    Tensor expected = ReferenceKernels.reduce(op, x, axes, axes != null && keep);
                    String what = op + " of " + type.id() + shape + " over " + Arrays.toString(axes)
                            + (keep ? " keepDims" : "");
                    switch (op) {
                        case MAX, MIN -> assertExact(expected, actual, what);
                        case VAR -> {
                            Tensor squares = ReferenceKernels.binary(BinaryOp.MUL, x, x);
                            Tensor magnitude = ReferenceKernels.reduce(
                                    ReduceOp.MEAN,
                                    TestArrays.retyped(squares, DType.FLOAT32),
                                    axes,
                                    axes != null && keep);
                            assertClose(expected, actual, magnitude, (2 * len + 8) * U, 1e-37, 1, what);
                        }
                        default -> {
                            Tensor magnitude = ReferenceKernels.reduce(
                                    op,
                                    TestArrays.retyped(TestArrays.abs(x), DType.FLOAT32),
                                    axes,
                                    axes != null && keep);
                            assertClose(expected, actual, magnitude, (len + 2) * U, 1e-37, 1, what);
                        }
                    }
                }
            }
        }
    }

    /** Null (everything), one axis, or several, some negative. */
    private int[] axes(Shape shape, int c) {
        if (shape.rank() == 0 || c % 5 == 4) {
            return null;
        }
        if (c < 4 && shape.rank() <= 2) {
            return new int[] {c == 3 ? -1 : data.random().nextInt(shape.rank())};
        }
        int[] perm = data.permutation(shape.rank());
        int count = 1 + data.random().nextInt(shape.rank());
        int[] axes = Arrays.copyOf(perm, count);
        for (int i = 0; i < axes.length; i++) {
            if (data.random().nextBoolean()) {
                axes[i] -= shape.rank();
            }
        }
        return axes;
    }

    private static int[] normalAxes(Shape shape, int[] axes) {
        if (axes == null) {
            int[] all = new int[shape.rank()];
            for (int i = 0; i < all.length; i++) {
                all[i] = i;
            }
            return all;
        }
        return Arrays.stream(axes).map(shape::normalizeAxis).toArray();
    }

    @Test
    void softmaxAndLogSoftmaxOverAnyAxis() {
        for (DType type : new DType[] {DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16, DType.INT32}) {
            for (int c = 0; c < 16; c++) {
                boolean big = type == DType.FLOAT32 && c < 2;
                Shape shape = big ? (c == 0 ? Shape.of(2000, 100) : Shape.of(3, 5000)) : data.nonEmptyShape(1, 4, 8);
                int axis = big ? -1 : data.random().nextInt(shape.rank());
                boolean log = c % 2 == 1;
                Tensor x = data.tensor(type, shape, -6, 6, c % 4 == 0 ? 0.1 : 0, TestArrays.ACCUMULATION_SPECIALS);
                DeviceArray in = data.input(s, x, c % 3 == 2);
                Tensor actual = download(log ? s.logSoftmax(in, axis) : s.softmax(in, axis));
                Tensor expected = ReferenceKernels.softmax(x, axis, log);
                int n = shape.dim(axis);
                String what = (log ? "logSoftmax " : "softmax ") + type.id() + shape + " axis " + axis;
                assertClose(expected, actual, null, (n + 32) * U, log ? (n + 32) * U * 16 : 1e-37, 1, what);
            }
        }
    }

    @Test
    void layerNormAndRmsNormWithOptionalWeightAndBias() {
        for (DType type : FLOATS) {
            for (int c = 0; c < 16; c++) {
                Shape shape = c == 0 && type == DType.FLOAT32 ? Shape.of(1024, 384) : data.nonEmptyShape(1, 3, 40);
                int n = shape.dim(-1);
                Tensor x = data.tensor(type, shape, -3, 3, c % 5 == 0 ? 0.02 : 0, TestArrays.ACCUMULATION_SPECIALS);
                Tensor w = c % 4 == 3 ? null : data.tensor(type, Shape.of(n), -1.5, 1.5);
                Tensor b = c % 2 == 1 ? null : data.tensor(type, Shape.of(n), -1, 1);
                DeviceArray in = data.input(s, x, c % 3 == 1);
                DeviceArray wa = w == null ? null : TestArrays.upload(s, w);
                DeviceArray ba = b == null ? null : TestArrays.upload(s, b);
                float eps = c % 2 == 0 ? 1e-5f : 1e-12f;
                String what = type.id() + shape + (w == null ? "" : " weight") + (b == null ? "" : " bias");
                Tensor layer = ReferenceKernels.layerNorm(x, w, b, eps);
                assertClose(
                        layer,
                        download(s.layerNorm(in, wa, ba, eps)),
                        plusOne(layer),
                        4 * (n + 32) * U,
                        0,
                        1,
                        "layerNorm " + what);
                Tensor rms = ReferenceKernels.rmsNorm(x, w, eps);
                assertClose(
                        rms, download(s.rmsNorm(in, wa, eps)), plusOne(rms), 4 * (n + 32) * U, 0, 1, "rmsNorm " + what);
            }
        }
    }

    /** {@code |t| + 1}: the scale of a normalised value's error (weight times a value near 1, plus the bias). */
    private static Tensor plusOne(Tensor t) {
        double[] d = TestArrays.abs(t).data().clone();
        for (int i = 0; i < d.length; i++) {
            d[i] += 1;
        }
        return new Tensor(t.dtype(), t.shape(), d);
    }

    // ---------------------------------------------------------------- matrix products and attention

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
        for (int c = 0; c < 30; c++) {
            sizes.add(new int[] {
                1 + data.random().nextInt(70),
                1 + data.random().nextInt(70),
                1 + data.random().nextInt(70)
            });
        }
        for (int i = 0; i < sizes.size(); i++) {
            int[] d = sizes.get(i);
            DType type = i < 11 || i % 3 == 0 ? DType.FLOAT32 : FLOATS[i % 3];
            checkMatmul(type, Shape.of(d[0], d[1]), Shape.of(d[1], d[2]), 0.0, i % 4 == 3);
        }
        checkMatmul(DType.FLOAT32, Shape.of(13, 17), Shape.of(17, 11), 0.1, false);
        checkMatmul(DType.FLOAT16, Shape.of(64, 128), Shape.of(128, 96), 0.0, false);
        checkMatmul(DType.BFLOAT16, Shape.of(64, 128), Shape.of(128, 96), 0.0, true);
    }

    @Test
    void matmulBatchedWithBroadcastBatch() {
        int[][] cases = {
            {3, 5, 7, 4, 3}, {1, 5, 7, 4, 3}, {3, 5, 7, 4, 1}, {4, 20, 70, 30, 4}, {2, 64, 300, 70, 2}, {6, 1, 1, 1, 6}
        };
        for (int i = 0; i < cases.length; i++) {
            int[] c = cases[i];
            DType type = FLOATS[i % 3];
            checkMatmul(type, Shape.of(c[0], c[1], c[2]), Shape.of(c[4], c[2], c[3]), 0.0, i % 2 == 1);
            checkMatmul(type, Shape.of(c[0], c[1], c[2]), Shape.of(c[2], c[3]), 0.0, false);
            checkMatmul(type, Shape.of(c[1], c[2]), Shape.of(c[4], c[2], c[3]), 0.0, i % 2 == 0);
        }
        checkMatmul(DType.FLOAT32, Shape.of(2, 1, 5, 7), Shape.of(3, 7, 2), 0.0, true);
        checkMatmul(DType.FLOAT32, Shape.of(500, 3, 4), Shape.of(500, 4, 2), 0.05, false);
    }

    private void checkMatmul(DType type, Shape as, Shape bs, double specials, boolean strided) {
        Tensor a = data.tensor(type, as, -1, 1, specials, TestArrays.ACCUMULATION_SPECIALS);
        Tensor b = data.tensor(type, bs, -1, 1, specials, TestArrays.ACCUMULATION_SPECIALS);
        Tensor actual = download(s.matmul(data.input(s, a, strided), data.input(s, b, strided)));
        Tensor expected = ReferenceKernels.matmul(a, b);
        Tensor magnitude = ReferenceKernels.matmul(
                TestArrays.retyped(TestArrays.abs(a), DType.FLOAT32),
                TestArrays.retyped(TestArrays.abs(b), DType.FLOAT32));
        int k = as.dim(-1);
        assertClose(
                expected,
                actual,
                magnitude,
                (k + 2) * U,
                1e-37,
                1,
                "matmul " + type.id() + " " + as + " x " + bs + (strided ? " (strided)" : ""));
    }

    @Test
    void scaledDotProductAttentionWithMasks() {
        for (int c = 0; c < 24; c++) {
            DType type = FLOATS[c % 3];
            int batch = 1 + data.random().nextInt(3);
            int heads = 1 + data.random().nextInt(4);
            int lq = 1 + data.random().nextInt(40);
            int lk = c % 5 == 0 ? lq : 1 + data.random().nextInt(40);
            int d = 1 + data.random().nextInt(32);
            int dv = c % 4 == 0 ? d : 1 + data.random().nextInt(32);
            Tensor q = data.tensor(type, Shape.of(batch, heads, lq, d), -1, 1);
            Tensor k = data.tensor(type, Shape.of(batch, heads, lk, d), -1, 1);
            Tensor v = data.tensor(type, Shape.of(batch, heads, lk, dv), -1, 1);
            Tensor mask = switch (c % 4) {
                case 1 -> keepSome(data.tensor(DType.BOOL, Shape.of(lq, lk), 0, 1));
                case 2 -> data.tensor(type, Shape.of(batch, 1, lq, lk), -2, 0);
                case 3 -> keepSome(data.tensor(DType.BOOL, Shape.of(batch, 1, 1, lk), 0, 1));
                default -> null;
            };
            float scale = (float) (1 / Math.sqrt(d));
            Tensor expected = ReferenceKernels.attention(q, k, v, mask, scale);
            Tensor magnitude = ReferenceKernels.attention(q, k, TestArrays.abs(v), mask, scale);
            DeviceArray out = s.scaledDotProductAttention(
                    data.input(s, q, c % 3 == 1),
                    data.input(s, k, c % 3 == 2),
                    data.input(s, v, c % 2 == 1),
                    mask == null ? null : TestArrays.upload(s, mask),
                    scale);
            assertClose(
                    expected,
                    download(out),
                    TestArrays.retyped(magnitude, type),
                    (4 * d + lk + 64) * U,
                    1e-37,
                    3,
                    "attention " + type.id() + " q " + q.shape() + " k " + k.shape() + " v " + v.shape()
                            + (mask == null ? "" : " mask " + mask.dtype().id() + mask.shape()));
        }
    }

    @Test
    void attentionOverLongRowsAndWideHeads() {
        // 12,300 keys in tiles; and heads wider than the fused CUDA kernel takes (160), which the CUDA
        // backend copies and composes from two products.
        for (DType type : new DType[] {DType.FLOAT32, DType.BFLOAT16}) {
            int lk = 12_300;
            Tensor q = data.tensor(type, Shape.of(1, 2, 3, 4), -1, 1);
            Tensor k = data.tensor(type, Shape.of(1, 2, lk, 4), -1, 1);
            Tensor v = data.tensor(type, Shape.of(1, 2, lk, 3), -1, 1);
            Tensor mask = keepSome(data.tensor(DType.BOOL, Shape.of(1, 1, 1, lk), 0, 1));
            Tensor expected = ReferenceKernels.attention(q, k, v, mask, 0.5f);
            Tensor magnitude = ReferenceKernels.attention(q, k, TestArrays.abs(v), mask, 0.5f);
            DeviceArray out = s.scaledDotProductAttention(
                    data.input(s, q, true),
                    data.input(s, k, false),
                    data.input(s, v, true),
                    TestArrays.upload(s, mask),
                    0.5f);
            assertClose(
                    expected,
                    download(out),
                    TestArrays.retyped(magnitude, type),
                    (4 * 4 + lk + 64) * U,
                    1e-37,
                    3,
                    "attention over " + lk + " keys, " + type.id());
        }
    }

    /** A bool mask with at least one key kept in every row (a row with none is NaN, tested on its own). */
    private static Tensor keepSome(Tensor mask) {
        double[] m = mask.data().clone();
        int lk = mask.shape().dim(-1);
        for (int row = 0; row < m.length / lk; row++) {
            m[row * lk] = 1;
        }
        return new Tensor(mask.dtype(), mask.shape(), m);
    }

    @Test
    void attentionRowWithEveryKeyMaskedIsNaN() {
        Tensor q = data.tensor(DType.FLOAT32, Shape.of(1, 2, 4), -1, 1);
        Tensor k = data.tensor(DType.FLOAT32, Shape.of(1, 3, 4), -1, 1);
        Tensor v = data.tensor(DType.FLOAT32, Shape.of(1, 3, 4), -1, 1);
        Tensor mask = Tensor.of(new boolean[] {true, false, true, false, false, false}, 2, 3);
        Tensor expected = ReferenceKernels.attention(q, k, v, mask, 0.5f);
        Tensor actual = download(s.scaledDotProductAttention(
                TestArrays.upload(s, q),
                TestArrays.upload(s, k),
                TestArrays.upload(s, v),
                TestArrays.upload(s, mask),
                0.5f));
        assertClose(expected, actual, null, 64 * U, 1e-37, 0, "attention with a fully masked row");
        if (!Double.isNaN(actual.data()[4])) {
            throw new AssertionError("the fully masked row should be NaN, got " + actual.data()[4]);
        }
    }
}
