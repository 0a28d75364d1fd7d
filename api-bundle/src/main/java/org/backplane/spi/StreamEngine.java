package org.backplane.spi;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import org.backplane.api.StreamError;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A backend's native side of one stream: a worker thread, a {@code CUstream}, an
 * {@code MTLCommandQueue}. The SPI calls it; it implements no rule of the stream error contract
 * itself beyond reporting each committed batch's end exactly once to its {@link StreamSink}.
 *
 * <p>The SPI never calls {@link #encode} or {@link #commit} for a failed, poisoned or closed stream
 * (S4), and calls them under the stream's encode lock, in order. Calls on the caller's thread
 * ({@link #encode}, {@link #upload}, {@link #download}) signal bad input with an
 * {@link IllegalArgumentException} (the stream stays usable) and a device failure with an
 * {@link EngineFailure} (captured into the stream's slot and reported at once, S3).
 */
@ConsumerType
public interface StreamEngine {
    /** Called as an op joins the open batch; a GPU engine encodes the kernel here. */
    default void encode(CommandBatch batch, Command command) {}

    /**
     * Starts a batch's work. Later, from any thread, the engine reports its end exactly once to the
     * sink ({@link StreamSink#completed}, {@link StreamSink#failed} or {@link StreamSink#discarded}).
     * Before executing an op whose inputs come from other streams, the engine waits for them with
     * {@link StreamSink#awaitInputs} (or an equivalent device-side wait followed by that check).
     */
    void commit(CommandBatch batch);

    /** Copies host data into a new array's storage, on the caller's thread, before returning. */
    void upload(EngineArray target, MemorySegment source);

    /**
     * Copies a computed array's data to the host, on the caller's thread: {@code source.byteSize()}
     * bytes from the start of its storage. The SPI passes only row-major arrays here; a view may
     * share a larger storage (a leading slice), so copy the array's bytes, not the storage's.
     */
    void download(EngineArray source, MemorySegment target);

    /**
     * Reset (S7): waits up to {@code timeout} for native work of the failed generation, discards the
     * native queue or encoder state and builds fresh ones. Batches of the old generation that the
     * engine drops must still be reported (failed) so that no waiter hangs.
     */
    void rebuild(Duration timeout);

    /**
     * Closes the stream's native side. With {@code abortError} null, every committed batch has
     * already ended; otherwise the engine stops running work as soon as it safely can and fails
     * every batch not yet ended with {@code abortError}. When this returns, the engine's threads
     * are joined and nothing of it calls back any more (S11).
     */
    void close(Duration timeout, StreamError abortError);

    /**
     * The batch was encoded but will never be committed (its generation failed or the stream
     * closed): release what {@link #encode} took for it. Never reported; called under the encode lock.
     */
    default void discarded(CommandBatch batch) {}

    /**
     * A user thread is about to wait for {@code batch} (committed). An engine that can learn of the
     * batch's end sooner than its completion callback would bring the news (by polling the device
     * briefly) may report it here, on this thread, through the sink as usual (a later report of the
     * same batch changes nothing). It must return promptly either way, within a millisecond or so,
     * and never block on work that may not finish. Default: nothing; the waiter waits for the
     * callback.
     */
    default void expediteCompletion(CommandBatch batch) {}

    /** Frees an array's storage early: it was closed by its owner. Default: leave it to the GC. */
    default void release(EngineArray array) {}
}
