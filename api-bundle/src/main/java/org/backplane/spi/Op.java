package org.backplane.spi;

import org.backplane.api.BinaryOp;
import org.backplane.api.ReduceOp;
import org.backplane.api.UnaryOp;

/**
 * What a {@link Command} computes. Engines switch over these records (exhaustively) to pick a
 * kernel; the output's type and shape are the command's output array's. Views (reshape, slice,
 * transpose, ...) are not ops: they share their input's memory and queue no work.
 *
 * <p>Inputs of elementwise ops ({@link Unary}, {@link Binary}, {@link BinaryScalar},
 * {@link Where}, {@link Cast}, {@link Copy}) may be strided views; every other op gets contiguous
 * row-major inputs (the SPI inserts a {@link Copy} where needed).
 */
public sealed interface Op {
    /** Short name for descriptions and error records. */
    String name();

    /** Every element set to {@code value} (converted to the output's type). */
    record Fill(Scalar value) implements Op {
        @Override
        public String name() {
            return "full";
        }
    }

    /** Elementwise unary op; input strided. */
    record Unary(UnaryOp op) implements Op {
        @Override
        public String name() {
            return op.opName();
        }
    }

    /** Elementwise binary op on two (broadcast, strided) inputs, computed in {@code op.computeType}. */
    record Binary(BinaryOp op) implements Op {
        @Override
        public String name() {
            return op.opName();
        }
    }

    /** Elementwise binary op with a scalar operand, first or second; one (strided) input. */
    record BinaryScalar(BinaryOp op, Scalar scalar, boolean scalarFirst) implements Op {
        @Override
        public String name() {
            return op.opName() + (scalarFirst ? "(" + scalar + ", x)" : "(x, " + scalar + ")");
        }
    }

    /** {@code condition ? a : b}: three (broadcast, strided) inputs. */
    record Where() implements Op {
        @Override
        public String name() {
            return "where";
        }
    }

    /** Conversion to the output's type; input strided. */
    record Cast() implements Op {
        @Override
        public String name() {
            return "astype";
        }
    }

    /** A contiguous copy of a (strided) view, same type. */
    record Copy() implements Op {
        @Override
        public String name() {
            return "copy";
        }
    }

    /** (Batched, broadcast) matrix product; both inputs of the output's (floating) type. */
    record Matmul() implements Op {
        @Override
        public String name() {
            return "matmul";
        }
    }

    /**
     * Reduction over one axis of a contiguous input, seen as {@code [outer, length, inner]}; a
     * reduction over everything has {@code outer = inner = 1}. The output has {@code outer * inner}
     * elements (its shape keeps or drops the axis; that does not change the data).
     */
    record Reduce(ReduceOp op, int axis, boolean all) implements Op {
        @Override
        public String name() {
            return op.opName() + (all ? "" : "(axis " + axis + ")");
        }
    }

    /** Index ({@code int64}) of the largest ({@code max}) or smallest element along {@code axis}. */
    record ArgReduce(boolean max, int axis) implements Op {
        @Override
        public String name() {
            return (max ? "argmax" : "argmin") + "(axis " + axis + ")";
        }
    }

    /** Softmax (or log-softmax) over {@code axis}. */
    record Softmax(int axis, boolean log) implements Op {
        @Override
        public String name() {
            return (log ? "logsoftmax" : "softmax") + "(axis " + axis + ")";
        }
    }

    /**
     * Layer normalisation over the last axis: inputs {@code x}, then {@code weight} if
     * {@code hasWeight}, then {@code bias} if {@code hasBias}.
     */
    record LayerNorm(float epsilon, boolean hasWeight, boolean hasBias) implements Op {
        @Override
        public String name() {
            return "layernorm";
        }
    }

    /** RMS normalisation over the last axis: inputs {@code x}, then {@code weight} if {@code hasWeight}. */
    record RmsNorm(float epsilon, boolean hasWeight) implements Op {
        @Override
        public String name() {
            return "rmsnorm";
        }
    }

    /** {@code take}: inputs {@code x} and an {@code int32}/{@code int64} index array. */
    record Take(int axis) implements Op {
        @Override
        public String name() {
            return "take(axis " + axis + ")";
        }
    }

    /** Inclusive running sum along {@code axis}. */
    record Cumsum(int axis) implements Op {
        @Override
        public String name() {
            return "cumsum(axis " + axis + ")";
        }
    }

    /** Joins its inputs (all of the output's type) along {@code axis}. */
    record Concatenate(int axis) implements Op {
        @Override
        public String name() {
            return "concatenate(axis " + axis + ")";
        }
    }

    /**
     * Scaled dot-product attention, {@code softmax(q k^T * scale + mask) v}: inputs {@code q [...,
     * Lq, D]}, {@code k [..., Lk, D]}, {@code v [..., Lk, Dv]} of the output's type, then, if
     * {@code hasMask}, a mask that broadcasts to {@code [..., Lq, Lk]} ({@code bool}: keep where true;
     * or additive, of the output's type). The batch axes broadcast to the output's; every input may be
     * a strided or broadcast view ({@link org.backplane.spi.device.AttentionGeometry} gives each one's
     * strides over the output's batch), so that a fused kernel reads heads split by a transpose
     * without copies. A row whose keys are all masked is NaN; no keys at all give zeros.
     */
    record Attention(float scale, boolean hasMask) implements Op {
        @Override
        public String name() {
            return "attention";
        }
    }
}
