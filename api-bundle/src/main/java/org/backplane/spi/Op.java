package org.backplane.spi;

import java.util.Arrays;
import org.backplane.api.BinaryOp;
import org.backplane.api.ReduceOp;
import org.backplane.api.UnaryOp;

/** What a {@link Command} computes. Engines switch over these records to pick a kernel. */
public sealed interface Op {
    /** Short name for descriptions and error records. */
    String name();

    /** Every element set to {@code value}. */
    record Fill(float value) implements Op {
        @Override
        public String name() {
            return "full";
        }
    }

    record Unary(UnaryOp op) implements Op {
        @Override
        public String name() {
            return op.opName();
        }
    }

    record Binary(BinaryOp op) implements Op {
        @Override
        public String name() {
            return op.opName();
        }
    }

    record Matmul() implements Op {
        @Override
        public String name() {
            return "matmul";
        }
    }

    /** Output axis {@code i} is input axis {@code axes[i]} (a validated permutation). */
    @SuppressWarnings("ArrayRecordComponent") // copied in and out; equals and hashCode compare the contents
    record Transpose(int[] axes) implements Op {
        public Transpose {
            axes = axes.clone();
        }

        @Override
        public int[] axes() {
            return axes.clone();
        }

        /** The permutation's {@code i}-th entry, without copying. */
        public int axis(int i) {
            return axes[i];
        }

        @Override
        public String name() {
            return "transpose" + Arrays.toString(axes);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Transpose t && Arrays.equals(axes, t.axes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(axes);
        }

        @Override
        public String toString() {
            return name();
        }
    }

    /**
     * Reduction over one normalised axis, or over all elements when {@code all} is true (then
     * {@code axis} is unused).
     */
    record Reduce(ReduceOp op, boolean all, int axis) implements Op {
        @Override
        public String name() {
            return op.opName() + (all ? "" : "(axis " + axis + ")");
        }
    }

    /** Softmax over the last axis. */
    record Softmax() implements Op {
        @Override
        public String name() {
            return "softmax";
        }
    }
}
