package org.backplane.spi;

import java.lang.foreign.MemorySegment;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Checks results against a trusted implementation (the runtime recomputes sampled ops on the CPU
 * reference kernels). Installed on a backend through its {@code ResultChecking} facility.
 *
 * <p>A batch that holds a sampled op is not released to readers until its check has run, and the
 * batches after it on the same stream wait behind it, so no result is readable before it was
 * checked and {@code synchronize} never returns ahead of a pending check. A mismatch is captured
 * into the stream's slot as {@code VERIFICATION_MISMATCH}: silent corruption is a fault.
 */
@ConsumerType
public interface ResultChecker {
    /**
     * Whether to check this op. Called on the submitting thread for every op while a checker is
     * installed: must be cheap and must not block.
     */
    boolean wants(Command command);

    /**
     * Checks a computed op, given host copies of its inputs and output (each array's elements in
     * row-major order, native-order values of its own type; see {@link DTypes} to read them), on
     * the backend's checking thread. Returns null when the output matches, otherwise a description
     * of the mismatch (the worst element, its value and the expected one, the tolerance).
     */
    String check(Command command, MemorySegment[] inputs, MemorySegment output);
}
