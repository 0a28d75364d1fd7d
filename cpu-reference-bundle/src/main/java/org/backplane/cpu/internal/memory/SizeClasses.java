package org.backplane.cpu.internal.memory;

/**
 * The sizes blocks come in, so that a freed block fits the next array of about its size: 16-byte
 * steps up to 512 bytes, then 32 steps per doubling, so that beyond 512 bytes no block is more than
 * 1/32 (about 3%) larger than what it holds.
 */
final class SizeClasses {
    private static final long SMALL = 512;
    private static final int STEPS_PER_DOUBLING = 32;

    private SizeClasses() {}

    /** The block size that holds {@code bytes} (at least 16). */
    static long of(long bytes) {
        if (bytes <= SMALL) {
            return Math.max(16, (bytes + 15) & ~15L);
        }
        long floor = Long.highestOneBit(bytes - 1); // bytes lies in (floor, 2 * floor]
        long step = floor / STEPS_PER_DOUBLING; // at least 16: floor is at least 512
        return (bytes + step - 1) / step * step;
    }
}
