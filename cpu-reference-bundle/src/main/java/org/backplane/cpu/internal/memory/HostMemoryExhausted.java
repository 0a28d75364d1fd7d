package org.backplane.cpu.internal.memory;

/** The CPU backend's array memory cannot hold one more array: the stream's {@code OUT_OF_MEMORY}, saying so. */
public final class HostMemoryExhausted extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public HostMemoryExhausted(String message) {
        super(message);
    }
}
