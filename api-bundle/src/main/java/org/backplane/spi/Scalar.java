package org.backplane.spi;

/**
 * A Java scalar operand of an op: a {@code double}, or an integer kept exactly as a {@code long}
 * (an {@code int64} operand beyond 2^53 would not survive a {@code double}).
 *
 * @param value the value as a double
 * @param integer the value as a long, when {@code integral}
 * @param integral whether the caller gave an integer
 */
public record Scalar(double value, long integer, boolean integral) {
    public static Scalar of(double value) {
        return new Scalar(value, 0, false);
    }

    public static Scalar of(long value) {
        return new Scalar(value, value, true);
    }

    @Override
    public String toString() {
        return integral ? Long.toString(integer) : Double.toString(value);
    }
}
