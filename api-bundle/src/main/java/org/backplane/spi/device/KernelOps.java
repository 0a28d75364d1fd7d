package org.backplane.spi.device;

import org.backplane.api.BinaryOp;
import org.backplane.api.ReduceOp;
import org.backplane.api.UnaryOp;

/**
 * The op codes device kernels switch on ({@code enum UnaryOp} and friends in the CUDA and MSL
 * sources), written out rather than taken from enum ordinals, so that reordering the API's enums
 * can never make a kernel compute another op.
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
        };
    }

    public static int code(ReduceOp op) {
        return switch (op) {
            case SUM -> 0;
            case MAX -> 1;
            case MEAN -> 2;
        };
    }
}
