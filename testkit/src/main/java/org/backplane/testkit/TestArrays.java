package org.backplane.testkit;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.api.Shape;
import org.backplane.cpu.reference.ReferenceKernels;
import org.backplane.cpu.reference.Tensor;
import org.backplane.spi.DTypes;

/**
 * Seeded random test data of every type, moved to and from a stream as plain arrays or as strided
 * views of the same values (a transposed upload transposed back, every other element of a larger
 * upload, a reversed slice, a broadcast), so that every op is also fed inputs that are not
 * contiguous.
 */
public final class TestArrays {
    /** IEEE specials and edge values. */
    static final double[] SPECIALS = {
        Double.NaN,
        Double.POSITIVE_INFINITY,
        Double.NEGATIVE_INFINITY,
        -0.0,
        0.0,
        1e-40,
        -1e-40,
        88.5,
        -88.5,
        100,
        -100,
        Float.MAX_VALUE,
        -Float.MAX_VALUE,
        1e-30
    };
    /** Specials that keep float32 sums finite where float64 ones are (no values near the maximum). */
    static final double[] ACCUMULATION_SPECIALS = {
        Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0, 0.0, 1e-40, -1e-40, 1e-30, 100, -100
    };

    /** Specials for products: no tiny values, whose float32 products underflow where float64's do not. */
    static final double[] PRODUCT_SPECIALS = {
        Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0, 0.0, 100, -100
    };

    private final Random random;

    public TestArrays(long seed) {
        this.random = new Random(seed);
    }

    public Random random() {
        return random;
    }

    /** Values of {@code type}: floats uniform in [lo, hi) with a share of specials; integers in [lo, hi]; bools fair. */
    public Tensor tensor(DType type, Shape shape, double lo, double hi, double specialShare, double[] specials) {
        double[] d = new double[Math.toIntExact(shape.size())];
        for (int i = 0; i < d.length; i++) {
            if (type == DType.BOOL) {
                d[i] = random.nextBoolean() ? 1 : 0;
            } else if (type.isInteger()) {
                d[i] = Math.round(lo) + random.nextInt((int) (Math.round(hi) - Math.round(lo)) + 1);
            } else {
                d[i] = random.nextDouble() < specialShare
                        ? specials[random.nextInt(specials.length)]
                        : lo + random.nextDouble() * (hi - lo);
            }
        }
        return Tensor.of(type, shape, d);
    }

    public Tensor tensor(DType type, Shape shape, double lo, double hi) {
        return tensor(type, shape, lo, hi, 0, SPECIALS);
    }

    /** The tensor uploaded as a new contiguous array. */
    public static DeviceArray upload(ComputeStream s, Tensor t) {
        return s.upload(t.toSegment(), t.dtype(), t.shape().dims());
    }

    /**
     * The tensor's values as an array on {@code s}: contiguous, or (when {@code strided}) a random
     * kind of view with the same logical values.
     */
    public DeviceArray input(ComputeStream s, Tensor t, boolean strided) {
        if (!strided || t.shape().size() == 0) {
            return upload(s, t);
        }
        int rank = t.shape().rank();
        if (rank == 0) {
            return upload(s, t);
        }
        return switch (random.nextInt(rank >= 2 ? 3 : 2)) {
            case 0 -> everyOther(s, t);
            case 1 -> reversed(s, t);
            default -> transposed(s, t);
        };
    }

    /** Uploaded with twice the elements along one axis, then sliced with step 2. */
    private DeviceArray everyOther(ComputeStream s, Tensor t) {
        int axis = random.nextInt(t.shape().rank());
        int[] dims = t.shape().dims();
        int[] big = dims.clone();
        big[axis] = dims[axis] * 2;
        Tensor filler = tensor(t.dtype(), Shape.of(big), -9, 9);
        double[] d = filler.data().clone();
        long inner = 1;
        for (int i = axis + 1; i < dims.length; i++) {
            inner *= dims[i];
        }
        for (long i = 0; i < t.size(); i++) {
            long in = i % inner;
            long k = (i / inner) % dims[axis];
            long outer = i / inner / dims[axis];
            d[(int) ((outer * big[axis] + 2 * k) * inner + in)] = t.data()[(int) i];
        }
        DeviceArray up = upload(s, new Tensor(t.dtype(), Shape.of(big), d));
        return s.slice(up, axis, 0, Integer.MAX_VALUE, 2);
    }

    /** Uploaded reversed along one axis, then read back through a negative-step slice. */
    private DeviceArray reversed(ComputeStream s, Tensor t) {
        int axis = random.nextInt(t.shape().rank());
        DeviceArray up = upload(s, reverse(t, axis));
        return s.slice(up, axis, -1, Integer.MIN_VALUE, -1);
    }

    /** Uploaded with its axes permuted, then transposed back (a general strided view). */
    private DeviceArray transposed(ComputeStream s, Tensor t) {
        int rank = t.shape().rank();
        int[] perm = permutation(rank);
        DeviceArray up = upload(s, ReferenceKernels.transpose(t, perm));
        int[] inverse = new int[rank];
        for (int i = 0; i < rank; i++) {
            inverse[perm[i]] = i;
        }
        return s.transpose(up, inverse);
    }

    static Tensor reverse(Tensor t, int axis) {
        int[] dims = t.shape().dims();
        long inner = 1;
        for (int i = axis + 1; i < dims.length; i++) {
            inner *= dims[i];
        }
        double[] d = new double[t.data().length];
        for (long i = 0; i < d.length; i++) {
            long in = i % inner;
            long k = (i / inner) % dims[axis];
            long outer = i / inner / dims[axis];
            d[(int) ((outer * dims[axis] + (dims[axis] - 1 - k)) * inner + in)] = t.data()[(int) i];
        }
        return new Tensor(t.dtype(), t.shape(), d);
    }

    /** The array's values, downloaded in its own type. */
    public static Tensor download(DeviceArray a) {
        try (Arena arena = Arena.ofConfined()) {
            long bytes = a.size() * a.dtype().byteSize();
            MemorySegment m = arena.allocate(Math.max(1, bytes), 8).asSlice(0, bytes);
            a.download(m);
            return Tensor.of(m, a.dtype(), a.shape());
        }
    }

    /** Rank 0..maxRank, dimensions 0..maxDim with extra weight on 1 and some 0s. */
    public Shape shape(int maxRank, int maxDim) {
        int rank = random.nextInt(maxRank + 1);
        int[] dims = new int[rank];
        for (int i = 0; i < rank; i++) {
            int pick = random.nextInt(10);
            dims[i] = pick == 0 ? 0 : pick <= 2 ? 1 : 2 + random.nextInt(maxDim - 1);
        }
        return Shape.of(dims);
    }

    /** A shape without zero-sized axes. */
    public Shape nonEmptyShape(int minRank, int maxRank, int maxDim) {
        int rank = minRank + random.nextInt(maxRank - minRank + 1);
        int[] dims = new int[rank];
        for (int i = 0; i < rank; i++) {
            dims[i] = random.nextInt(5) == 0 ? 1 : 2 + random.nextInt(maxDim - 1);
        }
        return Shape.of(dims);
    }

    /** A shape that broadcasts with {@code a}: some leading axes dropped, some axes set to 1. */
    public Shape broadcastPartner(Shape a) {
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

    /** A shape that broadcasts to {@code a} itself: some leading axes dropped, some axes set to 1. */
    public Shape innerPartner(Shape a) {
        int drop = a.rank() == 0 ? 0 : random.nextInt(a.rank() + 1);
        int[] dims = Arrays.copyOfRange(a.dims(), drop, a.rank());
        for (int i = 0; i < dims.length; i++) {
            if (random.nextInt(3) == 0) {
                dims[i] = 1;
            }
        }
        return Shape.of(dims);
    }

    public int[] permutation(int rank) {
        List<Integer> axes = new ArrayList<>();
        for (int i = 0; i < rank; i++) {
            axes.add(i);
        }
        Collections.shuffle(axes, random);
        return axes.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The values with every element made non-negative. */
    public static Tensor abs(Tensor t) {
        double[] d = t.data().clone();
        for (int i = 0; i < d.length; i++) {
            d[i] = Math.abs(d[i]);
        }
        return new Tensor(t.dtype(), t.shape(), d);
    }

    /** {@code t} with its values as float64 tensor data of another type (no rounding: for magnitudes). */
    static Tensor retyped(Tensor t, DType type) {
        return new Tensor(type, t.shape(), t.data());
    }

    /** A value of {@code t} as its type stores it. */
    static double stored(double v, DType t) {
        return DTypes.round(v, t);
    }
}
