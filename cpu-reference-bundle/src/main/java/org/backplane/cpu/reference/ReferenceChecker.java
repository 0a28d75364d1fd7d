package org.backplane.cpu.reference;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import org.backplane.api.ReduceOp;
import org.backplane.spi.Command;
import org.backplane.spi.EngineArray;
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
        if (c.op() instanceof Op.Attention) {
            long scores = c.input(0).size()
                    / c.input(0).shape().dim(-1)
                    * c.input(1).shape().dim(1);
            return scores * (c.input(0).shape().dim(-1) + c.input(2).shape().dim(-1));
        }
        return c.inputCount() == 0
                ? c.output().size()
                : c.input(0).size() + c.output().size();
    }

    @Override
    public String check(Command command, MemorySegment[] inputs, MemorySegment output) {
        List<Tensor> in = new ArrayList<>();
        List<Tensor> magnitudeIn = new ArrayList<>();
        for (int i = 0; i < inputs.length; i++) {
            Tensor t = Tensor.of(
                    inputs[i], command.input(i).dtype(), command.input(i).shape());
            in.add(t);
            magnitudeIn.add(abs(t));
        }
        EngineArray out = command.output();
        Tensor expected = ReferenceOps.compute(command.op(), in, out.dtype(), out.shape());
        // Sums and products are judged against the result on absolute inputs, so that cancellation
        // does not cause false alarms; other ops against the expected value itself.
        boolean accumulates = command.op() instanceof Op.Matmul
                || (command.op() instanceof Op.Reduce r && r.op() != ReduceOp.MAX && r.op() != ReduceOp.MIN)
                || command.op() instanceof Op.Cumsum;
        Tensor magnitude =
                accumulates ? ReferenceOps.compute(command.op(), magnitudeIn, out.dtype(), out.shape()) : abs(expected);
        return compare(expected, magnitude, Tensor.of(output, out.dtype(), out.shape()));
    }

    private static Tensor abs(Tensor t) {
        double[] d = t.data().clone();
        for (int i = 0; i < d.length; i++) {
            d[i] = Math.abs(d[i]);
        }
        return new Tensor(t.dtype(), t.shape(), d);
    }

    private String compare(Tensor expectedT, Tensor magnitudeT, Tensor actualT) {
        double[] expected = expectedT.data();
        double[] magnitude = magnitudeT.data();
        double[] actual = actualT.data();
        // Half precision is judged at its own precision: half an ulp of the result on top of the tolerance.
        double typeTolerance = switch (expectedT.dtype()) {
            case FLOAT16 -> 0x1.0p-11;
            case BFLOAT16 -> 0x1.0p-8;
            default -> 0;
        };
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i];
            double a = actual[i];
            double excess;
            if (Double.isNaN(e) || Double.isInfinite(e)) {
                excess = Double.compare(e, a) == 0 || (Double.isNaN(e) && Double.isNaN(a))
                        ? 0
                        : Double.POSITIVE_INFINITY;
            } else if (Double.isNaN(a) || Double.isInfinite(a)) {
                excess = Double.POSITIVE_INFINITY;
            } else {
                excess = Math.abs(a - e) - (atol + (rtol + typeTolerance) * magnitude[i]);
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
                Math.abs(actual[worst] - expected[worst]),
                worst,
                actual[worst],
                expected[worst],
                atol,
                rtol,
                magnitude[worst]);
    }
}
