package org.backplane.cpu.reference;

import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.spi.Command;
import org.backplane.spi.Op;
import org.backplane.spi.ResultChecker;

/**
 * Checks sampled ops of any backend against the reference kernels. An element passes when
 * {@code |actual - expected| <= atol + rtol * magnitude}, where the magnitude is {@code |expected|}
 * for elementwise ops and the reference result on absolute inputs for sums and products (so
 * cancellation does not cause false alarms); NaN must meet NaN and an infinity the same infinity.
 * Ops whose reference would cost more than {@link #MAX_REFERENCE_WORK} multiply-adds are not checked.
 *
 * @param sampleRate share of ops checked, 0 to 1
 * @param rtol relative tolerance
 * @param atol absolute tolerance
 */
public record ReferenceChecker(double sampleRate, double rtol, double atol) implements ResultChecker {
    /** Largest reference computation a check may cost (multiply-adds). */
    public static final long MAX_REFERENCE_WORK = 1L << 31;

    public ReferenceChecker {
        if (!(sampleRate >= 0 && sampleRate <= 1)) {
            throw new IllegalArgumentException("sample rate must be between 0 and 1, not " + sampleRate);
        }
        if (!(rtol >= 0) || !(atol >= 0)) {
            throw new IllegalArgumentException("tolerances must be non-negative: rtol " + rtol + ", atol " + atol);
        }
    }

    @Override
    public boolean wants(Command command) {
        if (sampleRate <= 0 || referenceWork(command) > MAX_REFERENCE_WORK) {
            return false;
        }
        return sampleRate >= 1 || ThreadLocalRandom.current().nextDouble() < sampleRate;
    }

    private static long referenceWork(Command c) {
        if (c.op() instanceof Op.Matmul) {
            return c.output().size() * c.input(0).shape().dim(-1);
        }
        return c.inputCount() == 0
                ? c.output().size()
                : c.input(0).size() + c.output().size();
    }

    @Override
    public String check(Command command, float[][] in, float[] actual) {
        Shape s0 = command.inputCount() > 0 ? command.input(0).shape() : null;
        Shape s1 = command.inputCount() > 1 ? command.input(1).shape() : null;
        float[] expected;
        float[] magnitude;
        switch (command.op()) {
            case Op.Fill f -> {
                expected = ReferenceKernels.fill(f.value(), command.output().shape());
                magnitude = abs(expected);
            }
            case Op.Unary u -> {
                expected = ReferenceKernels.unary(u.op(), in[0]);
                magnitude = abs(expected);
            }
            case Op.Binary b -> {
                expected = ReferenceKernels.binary(b.op(), in[0], s0, in[1], s1);
                magnitude = abs(expected);
            }
            case Op.Matmul m -> {
                expected = ReferenceKernels.matmul(in[0], s0, in[1], s1);
                magnitude = ReferenceKernels.matmul(abs(in[0]), s0, abs(in[1]), s1);
            }
            case Op.Transpose t -> {
                expected = ReferenceKernels.transpose(in[0], s0, t.axes());
                magnitude = abs(expected);
            }
            case Op.Reduce r -> {
                expected = r.all()
                        ? ReferenceKernels.reduceAll(r.op(), in[0])
                        : ReferenceKernels.reduce(r.op(), in[0], s0, r.axis());
                magnitude = r.op() == ReduceOp.MAX
                        ? abs(expected)
                        : r.all()
                                ? ReferenceKernels.reduceAll(r.op(), abs(in[0]))
                                : ReferenceKernels.reduce(r.op(), abs(in[0]), s0, r.axis());
            }
            case Op.Softmax x -> {
                expected = ReferenceKernels.softmax(in[0], s0);
                magnitude = abs(expected);
            }
        }
        return compare(expected, magnitude, actual);
    }

    private String compare(float[] expected, float[] magnitude, float[] actual) {
        if (expected.length != actual.length) {
            return "output has " + actual.length + " elements, the reference " + expected.length;
        }
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i];
            float a = actual[i];
            double excess;
            if (Float.isNaN(e) || Float.isInfinite(e)) {
                excess = Float.compare(e, a) == 0 || (Float.isNaN(e) && Float.isNaN(a)) ? 0 : Double.POSITIVE_INFINITY;
            } else if (!Float.isFinite(a)) {
                excess = Double.POSITIVE_INFINITY;
            } else {
                excess = Math.abs((double) a - e) - (atol + rtol * magnitude[i]);
            }
            if (excess > 0 && (worst < 0 || excess > worstExcess)) {
                worst = i;
                worstExcess = excess;
            }
        }
        if (worst < 0) {
            return null;
        }
        return String.format(
                Locale.ROOT,
                "result differs from the CPU reference: max error %.3g at index %d (got %s, reference %s; "
                        + "allowed %.1g + %.1g x %s)",
                Math.abs((double) actual[worst] - expected[worst]),
                worst,
                actual[worst],
                expected[worst],
                atol,
                rtol,
                magnitude[worst]);
    }

    private static float[] abs(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = Math.abs(x[i]);
        }
        return out;
    }
}
