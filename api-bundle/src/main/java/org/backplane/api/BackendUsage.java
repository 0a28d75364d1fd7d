package org.backplane.api;

/**
 * What a backend holds at one moment: the memory its arrays take against its limit (S12), its open
 * streams against their maximum, and the threads it runs.
 *
 * @param memoryLimitBytes what the backend's arrays may hold in all
 * @param memoryUsedBytes what its arrays hold now (arrays closed or unreachable are not counted)
 * @param memoryPeakBytes the most they have held since the backend started
 * @param pooledBytes device memory the backend keeps in a pool for reuse, beyond its arrays (0 where
 *     it keeps none)
 * @param reservePerStreamBytes kept free for each open stream
 * @param streamQuotaBytes the configured quota of one stream; 0: none
 * @param highWaterPercent the share of the limit above which health checks warn
 * @param openStreams streams open now
 * @param maxStreams how many may be open at once
 * @param threads threads the backend runs now (stream workers and compute pools; not the driver's)
 */
public record BackendUsage(
        long memoryLimitBytes,
        long memoryUsedBytes,
        long memoryPeakBytes,
        long pooledBytes,
        long reservePerStreamBytes,
        long streamQuotaBytes,
        int highWaterPercent,
        int openStreams,
        int maxStreams,
        int threads) {

    /** Whether the arrays hold more than the high-water share of the limit. */
    public boolean aboveHighWater() {
        return memoryLimitBytes > 0 && memoryUsedBytes * 100 > memoryLimitBytes * (long) highWaterPercent;
    }
}
