package org.backplane.cpu.internal;

import org.backplane.cpu.internal.kernels.Cancel;
import org.backplane.cpu.internal.kernels.Kernels;
import org.backplane.spi.Command;
import org.backplane.spi.EngineArray;
import org.backplane.spi.Op;

/** Each op of the CPU backend, lowered onto its kernel path: one case per op. */
final class CpuLowering {
    private final Kernels kernels;

    CpuLowering(Kernels kernels) {
        this.kernels = kernels;
    }

    /** Computes a command's output (a new array). May throw {@link OutOfMemoryError}; the engine captures it. */
    float[] run(Command c, Cancel cancel) {
        EngineArray out = c.output();
        return switch (c.op()) {
            case Op.Fill f -> kernels.fill(f.value(), out.shape(), cancel);
            case Op.Unary u -> kernels.unary(u.op(), data(c.input(0)), cancel);
            case Op.Binary b ->
                kernels.binary(
                        b.op(),
                        data(c.input(0)),
                        c.input(0).shape(),
                        data(c.input(1)),
                        c.input(1).shape(),
                        out.shape(),
                        cancel);
            case Op.Matmul m ->
                kernels.matmul(
                        data(c.input(0)),
                        c.input(0).shape(),
                        data(c.input(1)),
                        c.input(1).shape(),
                        out.shape(),
                        cancel);
            case Op.Transpose t ->
                kernels.transpose(data(c.input(0)), c.input(0).shape(), t.axes(), out.shape(), cancel);
            case Op.Reduce r ->
                kernels.reduce(r.op(), data(c.input(0)), c.input(0).shape(), r.all(), r.axis(), out.shape(), cancel);
            case Op.Softmax s -> kernels.softmax(data(c.input(0)), c.input(0).shape(), cancel);
        };
    }

    static float[] data(EngineArray a) {
        return a.storage(HostFloats.class).data();
    }
}
