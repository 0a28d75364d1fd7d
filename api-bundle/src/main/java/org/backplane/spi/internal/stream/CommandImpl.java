package org.backplane.spi.internal.stream;

import java.util.List;
import org.backplane.api.fault.FaultRule;
import org.backplane.spi.Command;
import org.backplane.spi.EngineArray;
import org.backplane.spi.Op;

/** One queued op. */
final class CommandImpl implements Command {
    private final long sequence;
    private final Op op;
    private final ArrayImpl[] inputs;
    private final ArrayImpl output;
    private final FaultRule injectedFault;
    /** Set at submission when the backend's result checker sampled this op. */
    boolean verify;

    CommandImpl(long sequence, Op op, ArrayImpl[] inputs, ArrayImpl output, FaultRule injectedFault) {
        this.sequence = sequence;
        this.op = op;
        this.inputs = inputs;
        this.output = output;
        this.injectedFault = injectedFault;
    }

    @Override
    public long sequence() {
        return sequence;
    }

    @Override
    public Op op() {
        return op;
    }

    @Override
    public List<EngineArray> inputs() {
        return List.of(inputs);
    }

    @Override
    public ArrayImpl input(int i) {
        return inputs[i];
    }

    @Override
    public int inputCount() {
        return inputs.length;
    }

    @Override
    public ArrayImpl output() {
        return output;
    }

    @Override
    public FaultRule injectedFault() {
        return injectedFault;
    }

    @Override
    public boolean isVerified() {
        return verify;
    }

    @Override
    public String describe() {
        StringBuilder sb = new StringBuilder(op.name());
        for (int i = 0; i < inputs.length; i++) {
            sb.append(i == 0 ? " " : " x ").append(inputs[i].shape());
        }
        return sb.append(" -> ").append(output.shape()).toString();
    }

    @Override
    public String toString() {
        return "#" + sequence + " " + describe();
    }
}
