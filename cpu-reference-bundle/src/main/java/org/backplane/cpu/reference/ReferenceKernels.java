package org.backplane.cpu.reference;

import org.backplane.api.BinaryOp;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.UnaryOp;
import org.backplane.spi.Shapes;

/**
 * Reference implementations of every op on row-major {@code float[]} data. Each one is the
 * textbook definition: index arithmetic through strides, float64 arithmetic, one rounding to
 * float32 at the end. Inputs are not modified; every call returns a new array.
 */
public final class ReferenceKernels {
    private ReferenceKernels() {}

    /** An array of {@code shape} with every element {@code value}. */
    public static float[] fill(float value, Shape shape) {
        float[] out = new float[checkedSize(shape)];
        java.util.Arrays.fill(out, value);
        return out;
    }

    public static float[] unary(UnaryOp op, float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = unary(op, x[i]);
        }
        return out;
    }

    /** The reference definition of a unary op on one value. */
    public static float unary(UnaryOp op, float v) {
        double x = v;
        return switch (op) {
            case NEG -> -v;
            case ABS -> Math.abs(v);
            case EXP -> (float) StrictMath.exp(x);
            case LOG -> (float) StrictMath.log(x);
            case SQRT -> (float) StrictMath.sqrt(x);
            case TANH -> (float) StrictMath.tanh(x);
            case SIGMOID -> (float) (1.0 / (1.0 + StrictMath.exp(-x)));
            case RELU -> Math.max(v, 0.0f);
        };
    }

    /** The reference definition of a binary op on one pair of values. */
    public static float binary(BinaryOp op, float a, float b) {
        double x = a;
        double y = b;
        return switch (op) {
            case ADD -> (float) (x + y);
            case SUB -> (float) (x - y);
            case MUL -> (float) (x * y);
            case DIV -> (float) (x / y);
            case MAXIMUM -> Math.max(a, b);
            case MINIMUM -> Math.min(a, b);
        };
    }

    /** Binary op with NumPy broadcasting; the result has shape {@code Shapes.broadcast(as, bs)}. */
    public static float[] binary(BinaryOp op, float[] a, Shape as, float[] b, Shape bs) {
        Shape out = Shapes.broadcast(as, bs);
        long[] sa = Shapes.broadcastStrides(as, out);
        long[] sb = Shapes.broadcastStrides(bs, out);
        int[] dims = out.dims();
        float[] result = new float[checkedSize(out)];
        int[] index = new int[dims.length];
        for (int i = 0; i < result.length; i++) {
            long ia = 0;
            long ib = 0;
            for (int d = 0; d < dims.length; d++) {
                ia += index[d] * sa[d];
                ib += index[d] * sb[d];
            }
            result[i] = binary(op, a[(int) ia], b[(int) ib]);
            increment(index, dims);
        }
        return result;
    }

    /**
     * Matrix product with float64 accumulation; 2-D or batched 3-D with broadcast batch, as
     * {@link Shapes#matmul}.
     */
    public static float[] matmul(float[] a, Shape as, float[] b, Shape bs) {
        Shape out = Shapes.matmul(as, bs);
        int m = as.dim(-2);
        int k = as.dim(-1);
        int n = bs.dim(-1);
        int batch = out.rank() == 3 ? out.dim(0) : 1;
        boolean aBatched = as.rank() == 3 && as.dim(0) != 1;
        boolean bBatched = bs.rank() == 3 && bs.dim(0) != 1;
        float[] c = new float[checkedSize(out)];
        for (int p = 0; p < batch; p++) {
            int aBase = aBatched ? p * m * k : 0;
            int bBase = bBatched ? p * k * n : 0;
            int cBase = p * m * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int q = 0; q < k; q++) {
                        sum += (double) a[aBase + i * k + q] * b[bBase + q * n + j];
                    }
                    c[cBase + i * n + j] = (float) sum;
                }
            }
        }
        return c;
    }

    /** Output axis {@code i} is input axis {@code perm[i]}. */
    public static float[] transpose(float[] x, Shape xs, int[] perm) {
        int[] p = Shapes.permutation(xs, perm);
        Shape out = Shapes.permute(xs, p);
        long[] inStrides = Shapes.strides(xs);
        int[] dims = out.dims();
        float[] result = new float[checkedSize(out)];
        int[] index = new int[dims.length];
        for (int i = 0; i < result.length; i++) {
            long src = 0;
            for (int d = 0; d < dims.length; d++) {
                src += index[d] * inStrides[p[d]];
            }
            result[i] = x[(int) src];
            increment(index, dims);
        }
        return result;
    }

    /** Reduction over all elements, returning one value (a scalar array). */
    public static float[] reduceAll(ReduceOp op, float[] x) {
        Shapes.reduceAll(op, Shape.of(x.length));
        return new float[] {(float) reduceRun(op, x, 0, x.length, 1)};
    }

    /** Reduction over one axis, which is removed from the shape. */
    public static float[] reduce(ReduceOp op, float[] x, Shape xs, int axis) {
        int a = xs.normalizeAxis(axis);
        Shape out = Shapes.reduce(op, xs, axis);
        int len = xs.dim(a);
        int inner = 1;
        for (int d = a + 1; d < xs.rank(); d++) {
            inner *= xs.dim(d);
        }
        int outer = checkedSize(out) / Math.max(inner, 1);
        float[] result = new float[checkedSize(out)];
        if (inner == 0) {
            return result;
        }
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                result[o * inner + i] = (float) reduceRun(op, x, o * len * inner + i, len, inner);
            }
        }
        return result;
    }

    private static double reduceRun(ReduceOp op, float[] x, int start, int len, int stride) {
        return switch (op) {
            case SUM, MEAN -> {
                double sum = 0;
                for (int i = 0; i < len; i++) {
                    sum += x[start + i * stride];
                }
                yield op == ReduceOp.SUM ? sum : sum / len;
            }
            case MAX -> {
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < len; i++) {
                    float v = x[start + i * stride];
                    if (Float.isNaN(v)) {
                        yield Double.NaN;
                    }
                    max = Math.max(max, v);
                }
                yield max;
            }
        };
    }

    /** Softmax over the last axis: {@code exp(x - max) / sum(exp(x - max))} per row, in float64. */
    public static float[] softmax(float[] x, Shape xs) {
        Shapes.softmax(xs);
        int n = xs.dim(-1);
        float[] result = new float[x.length];
        if (n == 0) {
            return result;
        }
        for (int row = 0; row < x.length / n; row++) {
            int base = row * n;
            double max = Double.NEGATIVE_INFINITY;
            boolean nan = false;
            for (int i = 0; i < n; i++) {
                nan |= Float.isNaN(x[base + i]);
                max = Math.max(max, x[base + i]);
            }
            if (nan) {
                max = Double.NaN;
            }
            double sum = 0;
            for (int i = 0; i < n; i++) {
                sum += StrictMath.exp(x[base + i] - max);
            }
            for (int i = 0; i < n; i++) {
                result[base + i] = (float) (StrictMath.exp(x[base + i] - max) / sum);
            }
        }
        return result;
    }

    private static void increment(int[] index, int[] dims) {
        for (int d = dims.length - 1; d >= 0; d--) {
            if (++index[d] < dims[d]) {
                return;
            }
            index[d] = 0;
        }
    }

    private static int checkedSize(Shape s) {
        if (s.size() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("the reference kernels handle at most " + (Integer.MAX_VALUE - 8)
                    + " elements, not " + s.size() + " (shape " + s + ")");
        }
        return (int) s.size();
    }
}
