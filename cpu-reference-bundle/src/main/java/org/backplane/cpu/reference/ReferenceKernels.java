package org.backplane.cpu.reference;

import java.util.Arrays;
import java.util.List;
import org.backplane.api.BinaryOp;
import org.backplane.api.DType;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.UnaryOp;
import org.backplane.spi.DTypes;
import org.backplane.spi.Scalar;
import org.backplane.spi.Shapes;
import org.backplane.spi.ViewShapes;

/**
 * The reference definition of every op, on host {@link Tensor}s: index arithmetic through strides,
 * float64 arithmetic (integers exactly, as Java longs, where the op computes in an integer type),
 * one rounding to the result's type at the end. The result types and shapes are the SPI's rules
 * ({@link Shapes}, {@link DType}); the oracle shares no kernel code with what it checks. Inputs are
 * never modified; every call returns a new tensor.
 */
public final class ReferenceKernels {
    private ReferenceKernels() {}

    public static Tensor fill(DType dtype, double value, Shape shape) {
        double[] d = new double[Math.toIntExact(shape.size())];
        Arrays.fill(d, DTypes.round(value, dtype));
        return new Tensor(dtype, shape, d);
    }

    /** Conversion by the rules of {@link DType}; between integer types it wraps (keeps the low bits), as NumPy does. */
    public static Tensor cast(Tensor x, DType to) {
        if (to == DType.INT32 && (x.dtype() == DType.INT64)) {
            double[] d = new double[x.data().length];
            for (int i = 0; i < d.length; i++) {
                d[i] = (int) (long) x.data()[i];
            }
            return new Tensor(to, x.shape(), d);
        }
        return Tensor.of(to, x.shape(), x.data());
    }

    // ------------------------------------------------------------------ elementwise

    public static Tensor unary(UnaryOp op, Tensor x) {
        DType out = op.resultType(x.dtype());
        double[] d = new double[x.data().length];
        for (int i = 0; i < d.length; i++) {
            d[i] = unary(op, x.data()[i], out);
        }
        return Tensor.of(out, x.shape(), d);
    }

    /** The reference definition of a unary op on one value, for a result of type {@code out}. */
    public static double unary(UnaryOp op, double x, DType out) {
        if (!out.isFloatingPoint() && out != DType.BOOL) {
            long v = (long) x;
            return switch (op) {
                case NEG -> out == DType.INT32 ? (int) -v : -v;
                case ABS -> out == DType.INT32 ? Math.abs((int) v) : Math.abs(v);
                case RELU -> Math.max(v, 0);
                case FLOOR -> v;
                default -> throw new IllegalArgumentException(op + " on integers");
            };
        }
        return switch (op) {
            case NEG -> -x;
            case ABS -> Math.abs(x);
            case EXP -> StrictMath.exp(x);
            case LOG -> StrictMath.log(x);
            case SQRT -> StrictMath.sqrt(x);
            case RSQRT -> 1 / StrictMath.sqrt(x);
            case TANH -> StrictMath.tanh(x);
            case SIGMOID -> 1.0 / (1.0 + StrictMath.exp(-x));
            case RELU -> Math.max(x, 0.0);
            case ERF -> ReferenceMath.erf(x);
            case GELU -> ReferenceMath.gelu(x);
            case GELU_TANH -> ReferenceMath.geluTanh(x);
            case SILU -> x / (1.0 + StrictMath.exp(-x));
            case SIN -> StrictMath.sin(x);
            case COS -> StrictMath.cos(x);
            case RECIPROCAL -> 1 / x;
            case LOGICAL_NOT -> x == 0 ? 1 : 0;
            case FLOOR -> Math.floor(x);
        };
    }

    public static Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        Shape out = Shapes.broadcast(a.shape(), b.shape());
        DType compute = op.computeType(a.dtype(), b.dtype());
        long[] sa = Shapes.broadcastStrides(a.shape(), out);
        long[] sb = Shapes.broadcastStrides(b.shape(), out);
        double[] d = new double[Math.toIntExact(out.size())];
        for (int i = 0; i < d.length; i++) {
            d[i] = binary(op, a.data()[(int) offset(out, sa, i)], b.data()[(int) offset(out, sb, i)], compute);
        }
        return Tensor.of(op.resultType(a.dtype(), b.dtype()), out, d);
    }

    public static Tensor binaryScalar(BinaryOp op, Tensor x, Scalar s, boolean scalarFirst) {
        DType weak = DTypes.scalarType(x.dtype(), s);
        DType compute = scalarFirst ? op.computeType(weak, x.dtype()) : op.computeType(x.dtype(), weak);
        DType result = scalarFirst ? op.resultType(weak, x.dtype()) : op.resultType(x.dtype(), weak);
        double sv = s.integral() ? s.integer() : s.value();
        double[] d = new double[x.data().length];
        for (int i = 0; i < d.length; i++) {
            d[i] = scalarFirst ? binary(op, sv, x.data()[i], compute) : binary(op, x.data()[i], sv, compute);
        }
        return Tensor.of(result, x.shape(), d);
    }

    /** The reference definition of a binary op on one pair of values computed in {@code compute}. */
    public static double binary(BinaryOp op, double a, double b, DType compute) {
        if (compute == DType.BOOL) {
            boolean x = a != 0 || Double.isNaN(a);
            boolean y = b != 0 || Double.isNaN(b);
            return switch (op) {
                case LOGICAL_AND -> x && y ? 1 : 0;
                case LOGICAL_OR -> x || y ? 1 : 0;
                case EQUAL -> x == y ? 1 : 0;
                case NOT_EQUAL -> x != y ? 1 : 0;
                case LESS -> !x && y ? 1 : 0;
                case LESS_EQUAL -> !x || y ? 1 : 0;
                case GREATER -> x && !y ? 1 : 0;
                case GREATER_EQUAL -> x || !y ? 1 : 0;
                case MAXIMUM -> x || y ? 1 : 0;
                case MINIMUM -> x && y ? 1 : 0;
                default -> throw new IllegalArgumentException(op + " on bool");
            };
        }
        if (compute.isInteger()) {
            long x = DTypes.toInteger(a, compute);
            long y = DTypes.toInteger(b, compute);
            long r = switch (op) {
                case ADD -> x + y;
                case SUB -> x - y;
                case MUL -> x * y;
                case MAXIMUM -> Math.max(x, y);
                case MINIMUM -> Math.min(x, y);
                case EQUAL -> x == y ? 1 : 0;
                case NOT_EQUAL -> x != y ? 1 : 0;
                case LESS -> x < y ? 1 : 0;
                case LESS_EQUAL -> x <= y ? 1 : 0;
                case GREATER -> x > y ? 1 : 0;
                case GREATER_EQUAL -> x >= y ? 1 : 0;
                default -> throw new IllegalArgumentException(op + " on integers");
            };
            return compute == DType.INT32 && !op.isComparison() ? (int) r : r;
        }
        // Operands are first rounded to the compute type (an int64 computed in float32, say).
        double x = DTypes.round(a, compute);
        double y = DTypes.round(b, compute);
        return switch (op) {
            case ADD -> x + y;
            case SUB -> x - y;
            case MUL -> x * y;
            case DIV -> x / y;
            case POW -> ReferenceMath.pow(x, y);
            case MAXIMUM -> Math.max(x, y);
            case MINIMUM -> Math.min(x, y);
            case EQUAL -> x == y ? 1 : 0;
            case NOT_EQUAL -> x != y ? 1 : 0;
            case LESS -> x < y ? 1 : 0;
            case LESS_EQUAL -> x <= y ? 1 : 0;
            case GREATER -> x > y ? 1 : 0;
            case GREATER_EQUAL -> x >= y ? 1 : 0;
            case LOGICAL_AND, LOGICAL_OR -> throw new IllegalArgumentException(op + " computes in bool");
        };
    }

    public static Tensor where(Tensor c, Tensor a, Tensor b) {
        Shape out = Shapes.broadcast(Shapes.broadcast(c.shape(), a.shape()), b.shape());
        long[] sc = Shapes.broadcastStrides(c.shape(), out);
        long[] sa = Shapes.broadcastStrides(a.shape(), out);
        long[] sb = Shapes.broadcastStrides(b.shape(), out);
        double[] d = new double[Math.toIntExact(out.size())];
        for (int i = 0; i < d.length; i++) {
            double cv = c.data()[(int) offset(out, sc, i)];
            d[i] = cv != 0 || Double.isNaN(cv)
                    ? a.data()[(int) offset(out, sa, i)]
                    : b.data()[(int) offset(out, sb, i)];
        }
        return Tensor.of(DType.promote(a.dtype(), b.dtype()), out, d);
    }

    /** Storage position of row-major index {@code flat} of {@code shape} read through {@code strides}. */
    static long offset(Shape shape, long[] strides, long flat) {
        long pos = 0;
        for (int i = shape.rank() - 1; i >= 0; i--) {
            int dim = shape.dim(i);
            pos += (flat % dim) * strides[i];
            flat /= dim;
        }
        return pos;
    }

    // ------------------------------------------------------------------ views, materialised on the host

    public static Tensor transpose(Tensor x, int[] axes) {
        int[] perm = ViewShapes.permutation(x.shape(), axes);
        Shape out = ViewShapes.permute(x.shape(), perm);
        long[] in = Shapes.strides(x.shape());
        long[] strides = new long[perm.length];
        for (int i = 0; i < perm.length; i++) {
            strides[i] = in[perm[i]];
        }
        return gather(x, out, strides, 0);
    }

    public static Tensor reshape(Tensor x, int... dims) {
        return new Tensor(
                x.dtype(), ViewShapes.reshape(x.shape(), dims), x.data().clone());
    }

    public static Tensor broadcastTo(Tensor x, int... dims) {
        Shape to = Shape.of(dims);
        ViewShapes.broadcastTo(x.shape(), to);
        return gather(x, to, Shapes.broadcastStrides(x.shape(), to), 0);
    }

    public static Tensor slice(Tensor x, int[] start, int[] stop, int[] step) {
        long[] in = Shapes.strides(x.shape());
        int[] dims = new int[x.shape().rank()];
        long[] strides = new long[dims.length];
        long base = 0;
        for (int i = 0; i < dims.length; i++) {
            ViewShapes.SliceAxis s = ViewShapes.slice(x.shape().dim(i), start[i], stop[i], step[i]);
            dims[i] = s.count();
            strides[i] = in[i] * s.step();
            if (s.count() > 0) {
                base += s.start() * in[i];
            }
        }
        return gather(x, Shape.of(dims), strides, base);
    }

    private static Tensor gather(Tensor x, Shape out, long[] strides, long base) {
        double[] d = new double[Math.toIntExact(out.size())];
        for (int i = 0; i < d.length; i++) {
            d[i] = x.data()[(int) (base + offset(out, strides, i))];
        }
        return new Tensor(x.dtype(), out, d);
    }

    public static Tensor concatenate(List<Tensor> parts, int axis) {
        Shape out = ViewShapes.concatenate(parts.stream().map(Tensor::shape).toList(), axis);
        int a = out.normalizeAxis(axis);
        DType type = parts.getFirst().dtype();
        for (Tensor t : parts) {
            type = DType.promote(type, t.dtype());
        }
        long outer = 1;
        for (int i = 0; i < a; i++) {
            outer *= out.dim(i);
        }
        long inner = out.size() / Math.max(1, outer) / Math.max(1, out.dim(a));
        double[] d = new double[Math.toIntExact(out.size())];
        int pos = 0;
        for (long o = 0; o < outer; o++) {
            for (Tensor t : parts) {
                int run = Math.toIntExact(t.shape().dim(a) * inner);
                System.arraycopy(t.data(), (int) (o * run), d, pos, run);
                pos += run;
            }
        }
        return Tensor.of(type, out, d);
    }

    // ------------------------------------------------------------------ indexing

    /**
     * {@code take}: out-of-range indices throw {@link IndexOutOfBoundsException} (a backend fails the
     * stream with {@code INVALID_ARGUMENT} instead).
     */
    public static Tensor take(Tensor x, Tensor indices, int axis) {
        int a = x.shape().normalizeAxis(axis);
        Shape out = ViewShapes.take(x.shape(), indices.shape(), a);
        int n = x.shape().dim(a);
        long outer = 1;
        for (int i = 0; i < a; i++) {
            outer *= x.shape().dim(i);
        }
        long inner = x.size() / Math.max(1, outer) / Math.max(1, n);
        double[] d = new double[Math.toIntExact(out.size())];
        int pos = 0;
        for (long o = 0; o < outer; o++) {
            for (double iv : indices.data()) {
                long idx = (long) iv;
                long k = idx < 0 ? idx + n : idx;
                if (k < 0 || k >= n) {
                    throw new IndexOutOfBoundsException(
                            "take index " + idx + " is out of range for axis " + a + " of size " + n);
                }
                System.arraycopy(x.data(), (int) ((o * n + k) * inner), d, pos, (int) inner);
                pos += (int) inner;
            }
        }
        return new Tensor(x.dtype(), out, d);
    }

    // ------------------------------------------------------------------ reductions

    public static Tensor reduce(ReduceOp op, Tensor x, int[] axes, boolean keepDims) {
        int[] normal = Shapes.reductionAxes(op, x.shape(), axes);
        Shape out = Shapes.reduced(x.shape(), normal, keepDims);
        Shape kept = Shapes.reduced(x.shape(), normal, true);
        DType type = op.resultType(x.dtype());
        boolean integers = !x.dtype().isFloatingPoint() && (op == ReduceOp.SUM || op == ReduceOp.PROD);
        long[] keptStrides = Shapes.strides(kept);
        int outSize = Math.toIntExact(out.size());
        double[][] groups = new double[outSize][];
        int[] counts = new int[outSize];
        long groupSize = out.size() == 0 ? 0 : x.size() / out.size();
        for (int g = 0; g < outSize; g++) {
            groups[g] = new double[(int) groupSize];
        }
        for (long i = 0; i < x.size(); i++) {
            long rem = i;
            long g = 0;
            for (int k = x.shape().rank() - 1; k >= 0; k--) {
                long idx = rem % x.shape().dim(k);
                rem /= x.shape().dim(k);
                if (Arrays.binarySearch(normal, k) < 0) {
                    g += idx * keptStrides[k];
                }
            }
            groups[(int) g][counts[(int) g]++] = x.data()[(int) i];
        }
        double[] d = new double[outSize];
        for (int g = 0; g < outSize; g++) {
            d[g] = reduce(op, groups[g], integers);
        }
        return Tensor.of(type, out, d);
    }

    private static double reduce(ReduceOp op, double[] v, boolean integers) {
        if (integers) {
            long acc = op == ReduceOp.SUM ? 0 : 1;
            for (double e : v) {
                acc = op == ReduceOp.SUM ? acc + (long) e : acc * (long) e;
            }
            return acc;
        }
        return switch (op) {
            case SUM -> sum(v);
            case MEAN -> sum(v) / v.length;
            case PROD -> {
                double p = 1;
                for (double e : v) {
                    p *= e;
                }
                yield p;
            }
            case MAX -> extreme(v, true);
            case MIN -> extreme(v, false);
            case VAR -> {
                double mean = sum(v) / v.length;
                double s = 0;
                for (double e : v) {
                    s += (e - mean) * (e - mean);
                }
                yield s / v.length;
            }
        };
    }

    private static double sum(double[] v) {
        double s = 0;
        for (double e : v) {
            s += e;
        }
        return s;
    }

    private static double extreme(double[] v, boolean max) {
        double r = max ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        for (double e : v) {
            if (Double.isNaN(e)) {
                return e;
            }
            r = max ? Math.max(r, e) : Math.min(r, e);
        }
        return r;
    }

    /** {@code argmax}/{@code argmin}: the first extreme index; NaN counts as the extreme. */
    public static Tensor argReduce(boolean max, Tensor x, int axis, boolean keepDims) {
        int a = x.shape().normalizeAxis(axis);
        Shape out = Shapes.reduced(x.shape(), new int[] {a}, keepDims);
        Lines lines = Lines.of(x.shape(), a);
        double[] d = new double[Math.toIntExact(lines.outer * lines.inner)];
        for (long o = 0; o < lines.outer; o++) {
            for (long in = 0; in < lines.inner; in++) {
                int best = 0;
                double bestValue = x.data()[(int) lines.at(o, 0, in)];
                for (int k = 1; k < lines.length && !Double.isNaN(bestValue); k++) {
                    double v = x.data()[(int) lines.at(o, k, in)];
                    if (Double.isNaN(v) || (max ? v > bestValue : v < bestValue)) {
                        best = k;
                        bestValue = v;
                    }
                }
                d[(int) (o * lines.inner + in)] = best;
            }
        }
        return new Tensor(DType.INT64, out, d);
    }

    public static Tensor cumsum(Tensor x, int axis) {
        int a = x.shape().normalizeAxis(axis);
        DType type = ReduceOp.SUM.resultType(x.dtype());
        boolean integers = !x.dtype().isFloatingPoint();
        Lines lines = Lines.of(x.shape(), a);
        double[] d = new double[x.data().length];
        for (long o = 0; o < lines.outer; o++) {
            for (long in = 0; in < lines.inner; in++) {
                double s = 0;
                long li = 0;
                for (int k = 0; k < lines.length; k++) {
                    int p = (int) lines.at(o, k, in);
                    if (integers) {
                        li += (long) x.data()[p];
                        d[p] = li;
                    } else {
                        s += x.data()[p];
                        d[p] = s;
                    }
                }
            }
        }
        return Tensor.of(type, x.shape(), d);
    }

    // ------------------------------------------------------------------ softmax and normalisation

    public static Tensor softmax(Tensor x, int axis, boolean log) {
        int a = x.shape().normalizeAxis(axis);
        DType type = x.dtype().isFloatingPoint() ? x.dtype() : DType.FLOAT32;
        Lines lines = Lines.of(x.shape(), a);
        double[] d = new double[x.data().length];
        for (long o = 0; o < lines.outer; o++) {
            for (long in = 0; in < lines.inner; in++) {
                double max = Double.NEGATIVE_INFINITY;
                boolean nan = false;
                for (int k = 0; k < lines.length; k++) {
                    double v = x.data()[(int) lines.at(o, k, in)];
                    nan |= Double.isNaN(v);
                    max = Math.max(max, v);
                }
                double sum = 0;
                for (int k = 0; k < lines.length; k++) {
                    sum += StrictMath.exp(x.data()[(int) lines.at(o, k, in)] - max);
                }
                for (int k = 0; k < lines.length; k++) {
                    int p = (int) lines.at(o, k, in);
                    double shifted = x.data()[p] - max;
                    d[p] = nan ? Double.NaN : log ? shifted - StrictMath.log(sum) : StrictMath.exp(shifted) / sum;
                }
            }
        }
        return Tensor.of(type, x.shape(), d);
    }

    /** Layer normalisation over the last axis; {@code weight} and {@code bias} may be null. */
    public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, float epsilon) {
        return normalise(x, weight, bias, epsilon, true);
    }

    /** RMS normalisation over the last axis; {@code weight} may be null. */
    public static Tensor rmsNorm(Tensor x, Tensor weight, float epsilon) {
        return normalise(x, weight, null, epsilon, false);
    }

    private static Tensor normalise(Tensor x, Tensor weight, Tensor bias, float epsilon, boolean center) {
        DType type = x.dtype().isFloatingPoint() ? x.dtype() : DType.FLOAT32;
        int n = x.shape().dim(-1);
        double[] d = new double[x.data().length];
        for (int row = 0; n > 0 && row < d.length / n; row++) {
            double mean = 0;
            if (center) {
                for (int k = 0; k < n; k++) {
                    mean += x.data()[row * n + k];
                }
                mean /= n;
            }
            double sq = 0;
            for (int k = 0; k < n; k++) {
                double c = x.data()[row * n + k] - mean;
                sq += c * c;
            }
            double scale = 1 / Math.sqrt(sq / n + epsilon);
            for (int k = 0; k < n; k++) {
                double v = (x.data()[row * n + k] - mean) * scale;
                if (weight != null) {
                    v *= weight.data()[k];
                }
                if (bias != null) {
                    v += bias.data()[k];
                }
                d[row * n + k] = v;
            }
        }
        return Tensor.of(type, x.shape(), d);
    }

    // ------------------------------------------------------------------ matrix products and attention

    /** Matrix product with broadcast batch dimensions, accumulated in float64. */
    public static Tensor matmul(Tensor a, Tensor b) {
        Shape out = Shapes.matmul(a.shape(), b.shape());
        DType type = DType.promote(a.dtype(), b.dtype());
        int m = a.shape().dim(-2);
        int k = a.shape().dim(-1);
        int n = b.shape().dim(-1);
        Shape batch = Shapes.batchOf(out);
        long[] sa = Shapes.broadcastStrides(Shapes.batchOf(a.shape()), batch);
        long[] sb = Shapes.broadcastStrides(Shapes.batchOf(b.shape()), batch);
        double[] d = new double[Math.toIntExact(out.size())];
        for (long bi = 0; bi < batch.size(); bi++) {
            long ao = offset(batch, sa, bi) * m * k;
            long bo = offset(batch, sb, bi) * k * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        s += a.data()[(int) (ao + (long) i * k + p)] * b.data()[(int) (bo + (long) p * n + j)];
                    }
                    d[(int) (bi * m * n + (long) i * n + j)] = s;
                }
            }
        }
        return Tensor.of(type, out, d);
    }

    /** {@code softmax(q k^T * scale + mask) v}; {@code mask} (bool: keep where true; else added) may be null. */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, float scale) {
        DType type = DType.promote(DType.promote(floating(q.dtype()), floating(k.dtype())), floating(v.dtype()));
        Tensor scores = matmul(up(q), transpose(up(k), swapLast(k.shape().rank())));
        double[] s = scores.data().clone();
        for (int i = 0; i < s.length; i++) {
            s[i] *= scale;
        }
        Tensor scaled = new Tensor(DType.FLOAT32, scores.shape(), s);
        if (mask != null) {
            Tensor m = broadcastTo(mask, scaled.shape().dims());
            double[] masked = scaled.data().clone();
            for (int i = 0; i < masked.length; i++) {
                masked[i] = mask.dtype() == DType.BOOL
                        ? (m.data()[i] != 0 ? masked[i] : Double.NEGATIVE_INFINITY)
                        : masked[i] + m.data()[i];
            }
            scaled = new Tensor(DType.FLOAT32, scaled.shape(), masked);
        }
        Tensor p = softmaxExact(scaled);
        Tensor out = matmul(p, up(v));
        return Tensor.of(type, out.shape(), out.data());
    }

    private static DType floating(DType t) {
        return t.isFloatingPoint() ? t : DType.FLOAT32;
    }

    /** The same values, unrounded, as a float64 scratch tensor typed float32 (so matmul does not round early). */
    private static Tensor up(Tensor t) {
        return new Tensor(DType.FLOAT32, t.shape(), t.data());
    }

    /** Softmax over the last axis without rounding the result. */
    private static Tensor softmaxExact(Tensor x) {
        int n = x.shape().dim(-1);
        double[] d = new double[x.data().length];
        for (int row = 0; n > 0 && row < d.length / n; row++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                max = Math.max(max, x.data()[row * n + j]);
            }
            double sum = 0;
            for (int j = 0; j < n; j++) {
                sum += StrictMath.exp(x.data()[row * n + j] - max);
            }
            for (int j = 0; j < n; j++) {
                d[row * n + j] = StrictMath.exp(x.data()[row * n + j] - max) / sum;
            }
        }
        return new Tensor(DType.FLOAT32, x.shape(), d);
    }

    private static int[] swapLast(int rank) {
        int[] p = new int[rank];
        for (int i = 0; i < rank; i++) {
            p[i] = i;
        }
        p[rank - 2] = rank - 1;
        p[rank - 1] = rank - 2;
        return p;
    }

    // ------------------------------------------------------------------ float32 conveniences

    /** {@link #matmul(Tensor, Tensor)} on float32 arrays. */
    public static float[] matmul(float[] a, Shape as, float[] b, Shape bs) {
        return matmul(Tensor.of(a, as.dims()), Tensor.of(b, bs.dims())).floats();
    }

    /** A reduction's view of one axis: {@code outer} lines of {@code length} elements {@code inner} apart. */
    private record Lines(long outer, int length, long inner) {
        static Lines of(Shape s, int axis) {
            long outer = 1;
            for (int i = 0; i < axis; i++) {
                outer *= s.dim(i);
            }
            long inner = 1;
            for (int i = axis + 1; i < s.rank(); i++) {
                inner *= s.dim(i);
            }
            return new Lines(outer, s.rank() == 0 ? 1 : s.dim(axis), inner);
        }

        long at(long o, int k, long in) {
            return (o * length + k) * inner + in;
        }
    }
}
