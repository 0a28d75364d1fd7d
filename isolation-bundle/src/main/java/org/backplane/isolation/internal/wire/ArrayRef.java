package org.backplane.isolation.internal.wire;

import org.backplane.api.DType;
import org.backplane.api.Shape;
import org.backplane.spi.ArrayLayout;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.EngineArray;

/**
 * An array as a batch names it across the boundary: the worker-side storage it lives in, its type,
 * shape and layout, the stream and generation it belongs to, and the batch that produces it (0 when
 * its data was there at creation).
 */
public record ArrayRef(
        long storage, DType dtype, Shape shape, ArrayLayout layout, long stream, long generation, long producer) {

    public static void write(Frame f, EngineArray a, long storage) {
        f.putLong(storage).putEnum(a.dtype());
        Describe.shape(f, a.shape());
        ArrayLayout layout = a.layout();
        boolean rowMajor = a.isRowMajor();
        f.putBoolean(rowMajor);
        if (!rowMajor) {
            f.putLong(layout.offset());
            for (int i = 0; i < layout.rank(); i++) {
                f.putLong(layout.stride(i));
            }
        }
        CommandBatch producer = a.producer();
        f.putLong(a.stream().number()).putLong(a.generation()).putLong(producer == null ? 0 : producer.id());
    }

    public static ArrayRef read(FrameReader in) {
        long storage = in.getLong();
        DType dtype = in.getEnum(DType.values());
        Shape shape = Describe.shape(in);
        ArrayLayout layout;
        if (in.getBoolean()) {
            layout = ArrayLayout.rowMajor(shape);
        } else {
            long offset = in.getLong();
            long[] strides = new long[shape.rank()];
            for (int i = 0; i < strides.length; i++) {
                strides[i] = in.getLong();
            }
            layout = new ArrayLayout(offset, strides);
        }
        return new ArrayRef(storage, dtype, shape, layout, in.getLong(), in.getLong(), in.getLong());
    }
}
