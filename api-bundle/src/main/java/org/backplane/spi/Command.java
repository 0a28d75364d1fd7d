package org.backplane.spi;

import java.util.List;
import org.backplane.api.fault.FaultRule;

/** One op queued on a stream: what to compute, from which arrays, into which array. */
public final class Command {
    private final long sequence;
    private final Op op;
    private final BackplaneArray[] inputs;
    private final BackplaneArray output;
    private final FaultRule injectedFault;
    /** Set at submission when the backend's result checker sampled this op. */
    boolean verify;

    Command(long sequence, Op op, BackplaneArray[] inputs, BackplaneArray output, FaultRule injectedFault) {
        this.sequence = sequence;
        this.op = op;
        this.inputs = inputs;
        this.output = output;
        this.injectedFault = injectedFault;
    }

    /** Position of this op among all ops its stream ever ran (1 is the first). */
    public long sequence() {
        return sequence;
    }

    public Op op() {
        return op;
    }

    public List<BackplaneArray> inputs() {
        return List.of(inputs);
    }

    /** Input {@code i}, without copying. */
    public BackplaneArray input(int i) {
        return inputs[i];
    }

    public int inputCount() {
        return inputs.length;
    }

    public BackplaneArray output() {
        return output;
    }

    /**
     * The fault rule that picked this op, or null. The engine must make the op fail with the rule's
     * kind where it executes, the way a real failure would.
     */
    public FaultRule injectedFault() {
        return injectedFault;
    }

    /** Whether result checking sampled this op. */
    public boolean isVerified() {
        return verify;
    }

    /** Bytes of output this op writes. */
    public long outputBytes() {
        return output.byteSize();
    }

    /** {@code "matmul [512, 512] x [512, 512] -> [512, 512]"}. */
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
