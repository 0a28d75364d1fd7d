package org.backplane.api;

import java.lang.foreign.MemorySegment;
import java.nio.FloatBuffer;
import org.osgi.annotation.versioning.ProviderType;

/**
 * An array in a backend's memory, produced by work on one stream. Its shape and dtype are known at
 * once; its data once the producing work has run. Reading it waits for that work.
 *
 * <p>Reading is a call on the producing stream and follows the stream error contract: if the
 * stream failed, the read throws {@link StreamFailedException} (once) or
 * {@link StreamPoisonedException}; an array of a generation that was reset throws
 * {@link StaleGenerationException}. Failed work never yields data (S6).
 */
@ProviderType
public interface DeviceArray extends AutoCloseable {
    Shape shape();

    DType dtype();

    /** Number of elements. */
    default long size() {
        return shape().size();
    }

    /** The stream whose work produces this array. */
    ComputeStream stream();

    /** The stream generation this array belongs to. */
    long generation();

    /** True once the producing work completed successfully (without waiting). */
    boolean isReady();

    /** Waits until the array is computed, committing queued work first. */
    default void eval() {
        stream().eval(this);
    }

    /**
     * Waits for the data and copies it into a new {@code float[]}, converting other types to
     * {@code float} ({@code bool} as 0 or 1; {@code int64} values beyond 2^24 lose precision).
     *
     * @throws IllegalStateException if the array has more elements than a Java array can hold, or
     *     was closed
     */
    float[] download();

    /**
     * Waits for the data and copies it into a new {@code int[]}, converting other types by the rules
     * of {@link DType} ({@code int64} values outside the {@code int} range saturate).
     */
    int[] downloadInts();

    /** Waits for the data and copies it into a new {@code long[]}, converting other types by the rules of {@link DType}. */
    long[] downloadLongs();

    /** Waits for the data and copies it into a new {@code boolean[]} (non-zero, and NaN, is true). */
    boolean[] downloadBooleans();

    /**
     * Waits for the data and copies it into {@code target} starting at its position, advancing the
     * position by {@link #size()}; other types are converted to {@code float} as by {@link #download()}.
     *
     * @throws IllegalArgumentException if fewer than {@link #size()} floats remain
     */
    void download(FloatBuffer target);

    /**
     * Waits for the data and copies it as native-order values of its own type into the start of
     * {@code target} ({@code size() * dtype().byteSize()} bytes).
     *
     * @throws IllegalArgumentException if the segment is smaller than that or read-only
     */
    void download(MemorySegment target);

    /**
     * Releases the array's memory. Reading or using a closed array fails; work already queued that
     * uses it still completes. Closing twice does nothing.
     */
    @Override
    void close();
}
