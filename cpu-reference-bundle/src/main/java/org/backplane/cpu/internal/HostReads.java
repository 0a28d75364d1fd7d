package org.backplane.cpu.internal;

import org.backplane.api.DType;
import org.backplane.api.Shape;
import org.backplane.cpu.reference.Tensor;
import org.backplane.spi.ArrayLayout;
import org.backplane.spi.DTypes;
import org.backplane.spi.EngineArray;

/**
 * An array's elements read in row-major order through its layout (a view reads its root's storage),
 * converted into the domain an op computes in: {@code float}, exact integers as {@code long}, or
 * truth values. A contiguous {@code float32} array is returned as its own storage, not copied:
 * kernels never write their inputs.
 */
final class HostReads {
    private HostReads() {}

    static HostData storage(EngineArray a) {
        return a.storage(HostData.class);
    }

    /** The values as floats ({@code int64} rounds, {@code bool} is 0 or 1). Do not modify the result. */
    static float[] floats(EngineArray a) {
        return floats(a, a.shape(), a.layout());
    }

    /** The elements of {@code a}'s storage at {@code layout} (a broadcast of it, say), as floats of {@code shape}. */
    static float[] floats(EngineArray a, Shape shape, ArrayLayout layout) {
        HostData d = storage(a);
        int size = Math.toIntExact(shape.size());
        if (d.array() instanceof float[] f && layout.isRowMajor(shape) && f.length == size) {
            return f;
        }
        float[] out = new float[size];
        Object src = d.array();
        boolean half = a.dtype() == DType.FLOAT16;
        StridedRuns.forEach(shape, layout, (o, p, s, n) -> {
            switch (src) {
                case float[] v -> {
                    for (int i = 0; i < n; i++) {
                        out[o + i] = v[p + i * s];
                    }
                }
                case short[] v
                when half -> {
                    for (int i = 0; i < n; i++) {
                        out[o + i] = Float.float16ToFloat(v[p + i * s]);
                    }
                }
                case short[] v -> {
                    for (int i = 0; i < n; i++) {
                        out[o + i] = Float.intBitsToFloat(v[p + i * s] << 16);
                    }
                }
                case int[] v -> {
                    for (int i = 0; i < n; i++) {
                        out[o + i] = v[p + i * s];
                    }
                }
                case long[] v -> {
                    for (int i = 0; i < n; i++) {
                        out[o + i] = v[p + i * s];
                    }
                }
                case byte[] v -> {
                    for (int i = 0; i < n; i++) {
                        out[o + i] = v[p + i * s];
                    }
                }
                default -> throw new AssertionError(src.getClass());
            }
        });
        return out;
    }

    /** The values as exact integers (floating values truncated toward zero, NaN to 0). Do not modify the result. */
    static long[] longs(EngineArray a) {
        HostData d = storage(a);
        int size = Math.toIntExact(a.size());
        if (d.array() instanceof long[] l && a.isRowMajor() && l.length == size) {
            return l;
        }
        long[] out = new long[size];
        Object src = d.array();
        DType type = a.dtype();
        StridedRuns.forEach(a.shape(), a.layout(), (o, p, s, n) -> {
            switch (src) {
                case int[] v -> {
                    for (int i = 0; i < n; i++) {
                        out[o + i] = v[p + i * s];
                    }
                }
                case long[] v -> {
                    for (int i = 0; i < n; i++) {
                        out[o + i] = v[p + i * s];
                    }
                }
                case byte[] v -> {
                    for (int i = 0; i < n; i++) {
                        out[o + i] = v[p + i * s];
                    }
                }
                case float[] v -> {
                    for (int i = 0; i < n; i++) {
                        out[o + i] = (long) v[p + i * s];
                    }
                }
                case short[] v -> {
                    for (int i = 0; i < n; i++) {
                        float f = type == DType.FLOAT16
                                ? Float.float16ToFloat(v[p + i * s])
                                : DTypes.bfloat16ToFloat(v[p + i * s]);
                        out[o + i] = (long) f;
                    }
                }
                default -> throw new AssertionError(src.getClass());
            }
        });
        return out;
    }

    /** The values as truth values: 1 for non-zero (and NaN), else 0. */
    static byte[] truths(EngineArray a) {
        if (a.dtype() == DType.BOOL) {
            return (byte[]) copy(a).array();
        }
        if (a.dtype().isFloatingPoint()) {
            float[] f = floats(a);
            byte[] out = new byte[f.length];
            for (int i = 0; i < f.length; i++) {
                out[i] = (byte) (f[i] != 0 || Float.isNaN(f[i]) ? 1 : 0);
            }
            return out;
        }
        long[] l = longs(a);
        byte[] out = new byte[l.length];
        for (int i = 0; i < l.length; i++) {
            out[i] = (byte) (l[i] != 0 ? 1 : 0);
        }
        return out;
    }

    /** A contiguous row-major copy in its own type (the storage itself when it already is one). */
    static HostData copy(EngineArray a) {
        HostData d = storage(a);
        int size = Math.toIntExact(a.size());
        if (a.isRowMajor() && d.length() == size) {
            return d;
        }
        HostData out = HostData.allocate(a.dtype(), size);
        Object src = d.array();
        Object dst = out.array();
        StridedRuns.forEach(a.shape(), a.layout(), (o, p, s, n) -> {
            if (s == 1) {
                System.arraycopy(src, p, dst, o, n);
                return;
            }
            switch (src) {
                case float[] v -> {
                    float[] t = (float[]) dst;
                    for (int i = 0; i < n; i++) {
                        t[o + i] = v[p + i * s];
                    }
                }
                case short[] v -> {
                    short[] t = (short[]) dst;
                    for (int i = 0; i < n; i++) {
                        t[o + i] = v[p + i * s];
                    }
                }
                case int[] v -> {
                    int[] t = (int[]) dst;
                    for (int i = 0; i < n; i++) {
                        t[o + i] = v[p + i * s];
                    }
                }
                case long[] v -> {
                    long[] t = (long[]) dst;
                    for (int i = 0; i < n; i++) {
                        t[o + i] = v[p + i * s];
                    }
                }
                case byte[] v -> {
                    byte[] t = (byte[]) dst;
                    for (int i = 0; i < n; i++) {
                        t[o + i] = v[p + i * s];
                    }
                }
                default -> throw new AssertionError(src.getClass());
            }
        });
        return out;
    }

    /** The array as a reference tensor (row-major, exact values). */
    static Tensor tensor(EngineArray a) {
        HostData d = copy(a);
        int n = Math.toIntExact(a.size());
        double[] v = new double[n];
        switch (d.array()) {
            case float[] f -> {
                for (int i = 0; i < n; i++) {
                    v[i] = f[i];
                }
            }
            case short[] s -> {
                for (int i = 0; i < n; i++) {
                    v[i] = a.dtype() == DType.FLOAT16 ? Float.float16ToFloat(s[i]) : DTypes.bfloat16ToFloat(s[i]);
                }
            }
            case int[] x -> {
                for (int i = 0; i < n; i++) {
                    v[i] = x[i];
                }
            }
            case long[] x -> {
                for (int i = 0; i < n; i++) {
                    v[i] = x[i];
                }
            }
            case byte[] x -> {
                for (int i = 0; i < n; i++) {
                    v[i] = x[i];
                }
            }
            default -> throw new AssertionError(d.array().getClass());
        }
        return new Tensor(a.dtype(), a.shape(), v);
    }
}
