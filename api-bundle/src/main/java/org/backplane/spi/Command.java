package org.backplane.spi;

import java.util.List;
import org.backplane.api.fault.FaultRule;
import org.osgi.annotation.versioning.ProviderType;

/** One op queued on a stream: what to compute, from which arrays, into which array. */
@ProviderType
public interface Command {
    /** Position of this op among all ops its stream ever ran (1 is the first). */
    long sequence();

    Op op();

    List<EngineArray> inputs();

    /** Input {@code i}, without copying. */
    EngineArray input(int i);

    int inputCount();

    EngineArray output();

    /**
     * The fault rule that picked this op, or null. The engine makes the op fail where it executes,
     * the way a real failure would, with {@link StreamSink#failInjected}.
     */
    FaultRule injectedFault();

    /** Whether result checking sampled this op. */
    boolean isVerified();

    /** Bytes of output this op writes. */
    default long outputBytes() {
        return output().byteSize();
    }

    /** {@code "matmul [512, 512] x [512, 512] -> [512, 512]"}. */
    String describe();
}
