package org.backplane.isolation.internal.worker;

import java.util.List;
import org.backplane.api.fault.FaultRule;
import org.backplane.spi.Command;
import org.backplane.spi.EngineArray;
import org.backplane.spi.Op;

/** One op of a batch as the host committed it. */
record WorkerCommand(
        long sequence, Op op, List<EngineArray> inputs, EngineArray output, FaultRule injectedFault, boolean isVerified)
        implements Command {

    WorkerCommand {
        inputs = List.copyOf(inputs);
    }

    @Override
    public EngineArray input(int i) {
        return inputs.get(i);
    }

    @Override
    public int inputCount() {
        return inputs.size();
    }

    /** For the worker's own messages; the host describes ops in errors with its own text. */
    @Override
    public String describe() {
        StringBuilder b = new StringBuilder(op.name());
        for (int i = 0; i < inputs.size(); i++) {
            b.append(i == 0 ? " " : " x ").append(inputs.get(i).shape());
        }
        return b.append(" -> ").append(output.shape()).toString();
    }
}
