package org.backplane.cpu.reference;

import java.util.List;
import org.backplane.api.DType;
import org.backplane.api.Shape;
import org.backplane.spi.Op;

/** Any {@link Op} computed by the reference kernels, given its inputs as logical (row-major) tensors. */
public final class ReferenceOps {
    private ReferenceOps() {}

    /**
     * The reference result of {@code op} on {@code in}, for an output of {@code type} and
     * {@code shape} (the SPI's, which fixes keep-dims and flattened batches).
     */
    public static Tensor compute(Op op, List<Tensor> in, DType type, Shape shape) {
        Tensor result = switch (op) {
            case Op.Fill f ->
                ReferenceKernels.fill(
                        type,
                        f.value().integral() ? f.value().integer() : f.value().value(),
                        shape);
            case Op.Unary u -> ReferenceKernels.unary(u.op(), in.get(0));
            case Op.Binary b -> ReferenceKernels.binary(b.op(), in.get(0), in.get(1));
            case Op.BinaryScalar b -> ReferenceKernels.binaryScalar(b.op(), in.get(0), b.scalar(), b.scalarFirst());
            case Op.Where w -> ReferenceKernels.where(in.get(0), in.get(1), in.get(2));
            case Op.Cast c -> ReferenceKernels.cast(in.get(0), type);
            case Op.Copy c -> in.get(0);
            case Op.Matmul m -> ReferenceKernels.matmul(in.get(0), in.get(1));
            case Op.Reduce r ->
                ReferenceKernels.reduce(r.op(), in.get(0), r.all() ? null : new int[] {r.axis()}, false);
            case Op.ArgReduce a -> ReferenceKernels.argReduce(a.max(), in.get(0), a.axis(), false);
            case Op.Softmax s -> ReferenceKernels.softmax(in.get(0), s.axis(), s.log());
            case Op.LayerNorm n ->
                ReferenceKernels.layerNorm(
                        in.get(0),
                        n.hasWeight() ? in.get(1) : null,
                        n.hasBias() ? in.get(n.hasWeight() ? 2 : 1) : null,
                        n.epsilon());
            case Op.RmsNorm n -> ReferenceKernels.rmsNorm(in.get(0), n.hasWeight() ? in.get(1) : null, n.epsilon());
            case Op.Take t -> ReferenceKernels.take(in.get(0), in.get(1), t.axis());
            case Op.Cumsum c -> ReferenceKernels.cumsum(in.get(0), c.axis());
            case Op.Concatenate c -> ReferenceKernels.concatenate(in, c.axis());
            case Op.Attention a ->
                ReferenceKernels.attention(in.get(0), in.get(1), in.get(2), a.hasMask() ? in.get(3) : null, a.scale());
        };
        return Tensor.of(type, shape, result.data());
    }
}
