package org.backplane.spi;

/**
 * How a backend governs the memory its arrays hold (S12). Every array a stream creates (an upload,
 * an op's output) is charged to that stream when it is created and credited when it is closed or
 * becomes unreachable; a charge is refused — the stream's {@code OUT_OF_MEMORY}, nobody else's —
 * when it would take the stream past its quota, or the backend past its limit less the reserve kept
 * for every other open stream.
 *
 * @param limitMiB what the backend's arrays may hold in all, in MiB; 0: 90% of the device's memory
 *     (the CPU backend: of the Java heap's maximum)
 * @param streamQuotaMiB what one stream's arrays may hold, in MiB, unless the stream was opened
 *     with a quota of its own; 0: no quota (the limit and the others' reserve still apply)
 * @param reserveMiB kept free for each open stream below it: a stream holding less than this can
 *     always allocate up to it, whatever the others hold
 * @param highWaterPercent the share of the limit above which the health check warns
 */
public record MemoryPolicy(long limitMiB, long streamQuotaMiB, long reserveMiB, int highWaterPercent) {
    /** No set limit (90% of the device), no quota, 32 MiB reserved per stream, a warning above 90%. */
    public static final MemoryPolicy DEFAULT = new MemoryPolicy(
            BackendSettings.DEFAULT_MEMORY_LIMIT_MIB,
            BackendSettings.DEFAULT_MEMORY_STREAM_QUOTA_MIB,
            BackendSettings.DEFAULT_MEMORY_RESERVE_MIB,
            BackendSettings.DEFAULT_MEMORY_HIGH_WATER_PERCENT);

    /** The share of the device's memory a backend without a set limit governs. */
    public static final double DEFAULT_DEVICE_SHARE = 0.9;

    public MemoryPolicy {
        if (limitMiB < 0 || streamQuotaMiB < 0 || reserveMiB < 0) {
            throw new IllegalArgumentException("memory limit, stream quota and reserve must not be negative but were "
                    + limitMiB + ", " + streamQuotaMiB + " and " + reserveMiB + " MiB");
        }
        if (highWaterPercent < 1 || highWaterPercent > 100) {
            throw new IllegalArgumentException(
                    "memory highWaterPercent must be between 1 and 100 but was " + highWaterPercent);
        }
    }

    /** The limit in bytes for a device of {@code deviceBytes}. */
    public long limitBytes(long deviceBytes) {
        return limitMiB > 0 ? limitMiB << 20 : (long) (deviceBytes * DEFAULT_DEVICE_SHARE);
    }
}
