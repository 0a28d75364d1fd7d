package org.backplane.spi.device;

import org.backplane.api.BinaryOp;
import org.backplane.api.DType;
import org.backplane.api.ReduceOp;
import org.backplane.api.UnaryOp;

/**
 * The codes device kernels switch on (the {@code enum}s at the top of the CUDA and MSL sources),
 * written out rather than taken from enum ordinals, so that reordering the API's enums can never
 * make a kernel compute another op or read another type. Change a code here and in both kernel
 * sources together.
 */
public final class KernelOps {
    private KernelOps() {}

    public static int code(UnaryOp op) {
        return switch (op) {
            case NEG -> 0;
            case ABS -> 1;
            case EXP -> 2;
            case LOG -> 3;
            case SQRT -> 4;
            case TANH -> 5;
            case SIGMOID -> 6;
            case RELU -> 7;
            case RSQRT -> 8;
            case ERF -> 9;
            case GELU -> 10;
            case GELU_TANH -> 11;
            case SILU -> 12;
            case SIN -> 13;
            case COS -> 14;
            case RECIPROCAL -> 15;
            case LOGICAL_NOT -> 16;
            case FLOOR -> 17;
        };
    }

    public static int code(BinaryOp op) {
        return switch (op) {
            case ADD -> 0;
            case SUB -> 1;
            case MUL -> 2;
            case DIV -> 3;
            case MAXIMUM -> 4;
            case MINIMUM -> 5;
            case POW -> 6;
            case EQUAL -> 7;
            case NOT_EQUAL -> 8;
            case LESS -> 9;
            case LESS_EQUAL -> 10;
            case GREATER -> 11;
            case GREATER_EQUAL -> 12;
            case LOGICAL_AND -> 13;
            case LOGICAL_OR -> 14;
        };
    }

    public static int code(ReduceOp op) {
        return switch (op) {
            case SUM -> 0;
            case MAX -> 1;
            case MEAN -> 2;
            case MIN -> 3;
            case PROD -> 4;
            case VAR -> 5;
        };
    }

    public static int code(DType type) {
        return switch (type) {
            case FLOAT32 -> 0;
            case FLOAT16 -> 1;
            case BFLOAT16 -> 2;
            case INT32 -> 3;
            case INT64 -> 4;
            case BOOL -> 5;
        };
    }
}
