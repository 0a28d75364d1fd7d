package org.backplane.spi.device;

import org.backplane.api.DType;
import org.backplane.api.UnaryOp;
import org.backplane.spi.Command;
import org.backplane.spi.DTypes;
import org.backplane.spi.Op;
import org.backplane.spi.Scalar;

/**
 * How a device's one elementwise kernel ({@code bp_elementwise} in the CUDA and MSL sources) computes
 * an elementwise op: which family of op, its code, the domain it computes in (float32, exact int64,
 * or truth values), the type a binary op's operands are rounded to, and its scalar converted as
 * that domain needs it. Decided here once for every GPU backend, by the type rules of {@link DType}.
 *
 * @param family one of the {@code FAMILY_} codes
 * @param op the op's {@link KernelOps} code (0 where the family has none)
 * @param domain one of the {@code DOMAIN_} codes
 * @param computeType the {@link KernelOps} code of the type binary operands are rounded to
 * @param floatScalar the scalar operand (or fill value) in the float domain
 * @param intScalar the scalar operand (or fill value) in the integer and truth domains
 * @param scalarFirst whether the scalar is the first operand
 */
public record ElementwiseKernel(
        int family, int op, int domain, int computeType, float floatScalar, long intScalar, boolean scalarFirst) {
    public static final int FAMILY_UNARY = 0;
    public static final int FAMILY_BINARY = 1;
    public static final int FAMILY_BINARY_SCALAR = 2;
    public static final int FAMILY_WHERE = 3;
    public static final int FAMILY_COPY = 4;
    public static final int FAMILY_FILL = 5;

    public static final int DOMAIN_FLOAT = 0;
    public static final int DOMAIN_INT = 1;
    public static final int DOMAIN_BOOL = 2;

    /** Whether {@code op} runs on the elementwise kernel. */
    public static boolean handles(Op op) {
        return op instanceof Op.Fill
                || op instanceof Op.Unary
                || op instanceof Op.Binary
                || op instanceof Op.BinaryScalar
                || op instanceof Op.Where
                || op instanceof Op.Cast
                || op instanceof Op.Copy;
    }

    /** The kernel's arguments for command {@code c}, whose op {@link #handles} says it runs. */
    public static ElementwiseKernel of(Command c) {
        DType out = c.output().dtype();
        int f32 = KernelOps.code(DType.FLOAT32);
        return switch (c.op()) {
            case Op.Fill f -> {
                Scalar v = f.value();
                long integer = v.integral()
                        ? (out == DType.INT32
                                ? Math.clamp(v.integer(), Integer.MIN_VALUE, Integer.MAX_VALUE)
                                : out == DType.BOOL ? (v.integer() != 0 ? 1 : 0) : v.integer())
                        : out.isFloatingPoint() ? 0 : DTypes.toInteger(v.value(), out);
                float value = (float) (v.integral() ? (double) v.integer() : v.value());
                yield new ElementwiseKernel(
                        FAMILY_FILL, 0, out.isFloatingPoint() ? DOMAIN_FLOAT : DOMAIN_INT, f32, value, integer, false);
            }
            case Op.Unary u ->
                new ElementwiseKernel(
                        FAMILY_UNARY,
                        KernelOps.code(u.op()),
                        u.op() == UnaryOp.LOGICAL_NOT ? DOMAIN_BOOL : out.isFloatingPoint() ? DOMAIN_FLOAT : DOMAIN_INT,
                        f32,
                        0,
                        0,
                        false);
            case Op.Binary b -> {
                DType compute =
                        b.op().computeType(c.input(0).dtype(), c.input(1).dtype());
                yield new ElementwiseKernel(
                        FAMILY_BINARY,
                        KernelOps.code(b.op()),
                        domain(b.op().isLogical(), compute),
                        KernelOps.code(compute),
                        0,
                        0,
                        false);
            }
            case Op.BinaryScalar b -> {
                DType x = c.input(0).dtype();
                Scalar s = b.scalar();
                DType weak = DTypes.scalarType(x, s);
                DType compute = b.scalarFirst() ? b.op().computeType(weak, x) : b.op().computeType(x, weak);
                double value = s.integral() ? (double) s.integer() : s.value();
                long integer = b.op().isLogical() ? DTypes.toInteger(value, DType.BOOL) : s.integer();
                yield new ElementwiseKernel(
                        FAMILY_BINARY_SCALAR,
                        KernelOps.code(b.op()),
                        domain(b.op().isLogical(), compute),
                        KernelOps.code(compute),
                        (float) DTypes.round(value, compute.isFloatingPoint() ? compute : DType.FLOAT32),
                        integer,
                        b.scalarFirst());
            }
            case Op.Where w ->
                new ElementwiseKernel(
                        FAMILY_WHERE, 0, out.isFloatingPoint() ? DOMAIN_FLOAT : DOMAIN_INT, f32, 0, 0, false);
            case Op.Cast k -> copy(c);
            case Op.Copy k -> copy(c);
            default -> throw new IllegalArgumentException(c.op().name() + " is not elementwise");
        };
    }

    private static ElementwiseKernel copy(Command c) {
        int domain = c.input(0).dtype().isFloatingPoint() ? DOMAIN_FLOAT : DOMAIN_INT;
        return new ElementwiseKernel(FAMILY_COPY, 0, domain, KernelOps.code(DType.FLOAT32), 0, 0, false);
    }

    private static int domain(boolean logical, DType compute) {
        return logical ? DOMAIN_BOOL : compute.isFloatingPoint() ? DOMAIN_FLOAT : DOMAIN_INT;
    }
}
