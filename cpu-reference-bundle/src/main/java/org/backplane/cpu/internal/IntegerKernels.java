package org.backplane.cpu.internal;

import org.backplane.api.BinaryOp;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.UnaryOp;
import org.backplane.cpu.internal.kernels.Cancel;
import org.backplane.spi.Shapes;

/**
 * The CPU backend's ops on exact integers ({@code int32}, {@code int64} and {@code bool} as 0 and
 * 1), computed in {@code long}: the caller narrows {@code int32} results, which wraps as the type
 * rules say. Simple loops; models spend their time in the floating-point kernels.
 */
final class IntegerKernels {
    private IntegerKernels() {}

    static long[] unary(UnaryOp op, long[] x) {
        long[] out = new long[x.length];
        for (int i = 0; i < x.length; i++) {
            long v = x[i];
            out[i] = switch (op) {
                case NEG -> -v;
                case ABS -> Math.abs(v);
                case RELU -> Math.max(v, 0);
                case LOGICAL_NOT -> v == 0 ? 1 : 0;
                case FLOOR -> v;
                default -> throw new IllegalArgumentException(op + " does not compute on integers");
            };
        }
        return out;
    }

    /** A broadcast binary op; comparisons and logical ops give 0 or 1. */
    static long[] binary(BinaryOp op, long[] a, Shape as, long[] b, Shape bs, Shape out, Cancel cancel) {
        int[] ia = broadcastOffsets(as, out);
        int[] ib = broadcastOffsets(bs, out);
        long[] r = new long[Math.toIntExact(out.size())];
        for (int i = 0; i < r.length; i++) {
            if ((i & 0xffff) == 0) {
                cancel.check();
            }
            r[i] = apply(op, a[ia == null ? i : ia[i]], b[ib == null ? i : ib[i]]);
        }
        return r;
    }

    static long apply(BinaryOp op, long x, long y) {
        return switch (op) {
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
            case LOGICAL_AND -> x != 0 && y != 0 ? 1 : 0;
            case LOGICAL_OR -> x != 0 || y != 0 ? 1 : 0;
            case DIV, POW -> throw new IllegalArgumentException(op + " computes in floating point");
        };
    }

    /**
     * For each element of {@code out}, the row-major position of the {@code in} element broadcast to
     * it; null when {@code in} is {@code out} (every element its own).
     */
    static int[] broadcastOffsets(Shape in, Shape out) {
        if (in.equals(out)) {
            return null;
        }
        long[] strides = Shapes.broadcastStrides(in, out);
        int[] offsets = new int[Math.toIntExact(out.size())];
        int rank = out.rank();
        int[] index = new int[rank];
        long pos = 0;
        for (int i = 0; i < offsets.length; i++) {
            offsets[i] = (int) pos;
            for (int d = rank - 1; d >= 0; d--) {
                pos += strides[d];
                if (++index[d] < out.dim(d)) {
                    break;
                }
                pos -= strides[d] * out.dim(d);
                index[d] = 0;
            }
        }
        return offsets;
    }

    /** SUM, PROD, MAX or MIN of {@code length} elements {@code inner} apart, for each of {@code outer x inner} lines. */
    static long[] reduce(ReduceOp op, long[] x, int outer, int length, int inner) {
        long[] out = new long[outer * inner];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                int base = o * length * inner + j;
                long acc = switch (op) {
                    case SUM -> 0;
                    case PROD -> 1;
                    case MAX -> Long.MIN_VALUE;
                    case MIN -> Long.MAX_VALUE;
                    default -> throw new IllegalArgumentException(op + " of integers is computed in floating point");
                };
                for (int k = 0; k < length; k++) {
                    long v = x[base + k * inner];
                    acc = switch (op) {
                        case SUM -> acc + v;
                        case PROD -> acc * v;
                        case MAX -> Math.max(acc, v);
                        default -> Math.min(acc, v);
                    };
                }
                out[o * inner + j] = acc;
            }
        }
        return out;
    }

    /** MEAN or VAR of integer lines, accumulated in float64. */
    static float[] moments(ReduceOp op, long[] x, int outer, int length, int inner) {
        float[] out = new float[outer * inner];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                int base = o * length * inner + j;
                double sum = 0;
                for (int k = 0; k < length; k++) {
                    sum += x[base + k * inner];
                }
                double mean = sum / length;
                if (op == ReduceOp.MEAN) {
                    out[o * inner + j] = (float) mean;
                    continue;
                }
                double sq = 0;
                for (int k = 0; k < length; k++) {
                    double d = x[base + k * inner] - mean;
                    sq += d * d;
                }
                out[o * inner + j] = (float) (sq / length);
            }
        }
        return out;
    }

    static long[] cumsum(long[] x, int outer, int length, int inner) {
        long[] out = new long[x.length];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                int base = o * length * inner + j;
                long acc = 0;
                for (int k = 0; k < length; k++) {
                    acc += x[base + k * inner];
                    out[base + k * inner] = acc;
                }
            }
        }
        return out;
    }

    /** Index of the first largest ({@code max}) or smallest element of each line. */
    static long[] argReduce(boolean max, long[] x, int outer, int length, int inner) {
        long[] out = new long[outer * inner];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                int base = o * length * inner + j;
                int best = 0;
                long bestValue = x[base];
                for (int k = 1; k < length; k++) {
                    long v = x[base + k * inner];
                    if (max ? v > bestValue : v < bestValue) {
                        best = k;
                        bestValue = v;
                    }
                }
                out[o * inner + j] = best;
            }
        }
        return out;
    }

    /** {@link #argReduce} of floats: a NaN is the extreme (the first NaN wins), as in NumPy. */
    static long[] argReduce(boolean max, float[] x, int outer, int length, int inner) {
        long[] out = new long[outer * inner];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                int base = o * length * inner + j;
                int best = 0;
                float bestValue = x[base];
                for (int k = 1; k < length && !Float.isNaN(bestValue); k++) {
                    float v = x[base + k * inner];
                    if (Float.isNaN(v) || (max ? v > bestValue : v < bestValue)) {
                        best = k;
                        bestValue = v;
                    }
                }
                out[o * inner + j] = best;
            }
        }
        return out;
    }

    /** Running sums of floats along lines, accumulated in float64. */
    static float[] cumsum(float[] x, int outer, int length, int inner) {
        float[] out = new float[x.length];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                int base = o * length * inner + j;
                double acc = 0;
                for (int k = 0; k < length; k++) {
                    acc += x[base + k * inner];
                    out[base + k * inner] = (float) acc;
                }
            }
        }
        return out;
    }
}
