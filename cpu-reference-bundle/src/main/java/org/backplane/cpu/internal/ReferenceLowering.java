package org.backplane.cpu.internal;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.backplane.cpu.internal.kernels.Cancel;
import org.backplane.cpu.internal.memory.NativeBuffer;
import org.backplane.cpu.reference.ReferenceOps;
import org.backplane.cpu.reference.Tensor;
import org.backplane.spi.Command;
import org.backplane.spi.EngineArray;

/** The reference kernels run as the backend's kernel path ({@code kernels=reference}): slow, exact, for checking. */
final class ReferenceLowering implements CpuOps {
    @Override
    public String name() {
        return "reference";
    }

    @Override
    public void run(Command c, Cancel cancel, Scratchpad pad) {
        List<Tensor> in = new ArrayList<>();
        for (int i = 0; i < c.inputCount(); i++) {
            in.add(HostReads.tensor(c.input(i)));
        }
        cancel.check();
        EngineArray out = c.output();
        Tensor r;
        try {
            r = ReferenceOps.compute(c.op(), in, out.dtype(), out.shape());
        } catch (IndexOutOfBoundsException e) {
            throw new BadOpInputException(e.getMessage());
        }
        NativeBuffer result = HostReads.storage(out);
        MemorySegment.copy(r.toSegment(), 0, result.segment(), 0, result.byteSize());
    }
}
