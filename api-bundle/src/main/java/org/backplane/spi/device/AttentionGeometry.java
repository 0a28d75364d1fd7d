package org.backplane.spi.device;

import java.util.Arrays;
import org.backplane.api.Shape;
import org.backplane.spi.ArrayLayout;
import org.backplane.spi.Command;
import org.backplane.spi.EngineArray;
import org.backplane.spi.Op;
import org.backplane.spi.Shapes;

/**
 * An {@link Op.Attention} command's index space: the output's batch axes, the lengths and widths,
 * and for each input where its element {@code [batch..., row, col]} lies in its storage (offset,
 * strides over the output's batch axes, 0 where it broadcasts, and its row and column strides).
 *
 * @param batch the output's batch axes
 * @param lq queries
 * @param lk keys
 * @param d width of queries and keys
 * @param dv width of values
 * @param q the queries' operand
 * @param k the keys'
 * @param v the values'
 * @param mask the mask's, or null
 */
public record AttentionGeometry(
        Shape batch, int lq, int lk, int d, int dv, Operand q, Operand k, Operand v, Operand mask) {

    /**
     * Where an input's elements lie: {@code offset + sum(batch index[i] * batchStrides[i]) + row *
     * rowStride + col * colStride}.
     */
    @SuppressWarnings("ArrayRecordComponent") // a plan, read and never compared
    public record Operand(long offset, long[] batchStrides, long rowStride, long colStride) {
        /** {@code [rowStride, colStride, batchStrides...]}: the order the GPU kernels take them in. */
        public long[] kernelStrides() {
            long[] s = new long[2 + batchStrides.length];
            s[0] = rowStride;
            s[1] = colStride;
            System.arraycopy(batchStrides, 0, s, 2, batchStrides.length);
            return s;
        }
    }

    public static AttentionGeometry of(Command c) {
        Op.Attention a = (Op.Attention) c.op();
        Shape out = c.output().shape();
        Shape batch = Shapes.batchOf(out);
        EngineArray q = c.input(0);
        EngineArray k = c.input(1);
        EngineArray v = c.input(2);
        int lq = out.dim(-2);
        int dv = out.dim(-1);
        int lk = k.shape().dim(-2);
        int d = q.shape().dim(-1);
        return new AttentionGeometry(
                batch,
                lq,
                lk,
                d,
                dv,
                operand(q, batch, lq, d),
                operand(k, batch, lk, d),
                operand(v, batch, lk, dv),
                a.hasMask() ? operand(c.input(3), batch, lq, lk) : null);
    }

    /** The operand of {@code x} broadcast to {@code batch + [rows, cols]}. */
    private static Operand operand(EngineArray x, Shape batch, int rows, int cols) {
        int[] dims = Arrays.copyOf(batch.dims(), batch.rank() + 2);
        dims[batch.rank()] = rows;
        dims[batch.rank() + 1] = cols;
        Shape full = Shape.of(dims);
        ArrayLayout layout = x.layout();
        long[] s = Shapes.broadcastStrides(x.shape(), layout.strides(), full);
        return new Operand(layout.offset(), Arrays.copyOf(s, batch.rank()), s[batch.rank()], s[batch.rank() + 1]);
    }

    /** Product of the batch axes. */
    public long batchSize() {
        return batch.size();
    }

    /** The full (broadcast) shape of an input with {@code rows x cols} matrices. */
    public Shape shape(int rows, int cols) {
        int[] dims = Arrays.copyOf(batch.dims(), batch.rank() + 2);
        dims[batch.rank()] = rows;
        dims[batch.rank() + 1] = cols;
        return Shape.of(dims);
    }

    /** An operand's element positions as a layout of {@link #shape}{@code (rows, cols)}. */
    public static ArrayLayout layout(Operand o) {
        long[] s = Arrays.copyOf(o.batchStrides(), o.batchStrides().length + 2);
        s[s.length - 2] = o.rowStride();
        s[s.length - 1] = o.colStride();
        return new ArrayLayout(o.offset(), s);
    }
}
