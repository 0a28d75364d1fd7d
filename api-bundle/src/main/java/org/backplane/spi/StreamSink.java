package org.backplane.spi;

import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.StreamId;
import org.backplane.api.fault.FaultRule;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The seam: everything an engine tells the SPI about one stream. Given to the engine when the
 * stream opens; the object hosts hold is never an engine's business.
 *
 * <p>Every method may be called from any thread, including FFM upcalls on driver threads. The
 * reporting methods never throw and never block (S1); they capture errors into the stream's slot
 * (S2), release every waiter, fail dependent work (S6), and decide device loss from the error's
 * scope (S9). Each committed batch is reported exactly once; a second report changes nothing.
 */
@ProviderType
public interface StreamSink {
    StreamId id();

    /** The label the stream was opened with (for thread and queue names). */
    String label();

    /**
     * Starts an error record for this stream, stamped with the backend, stream, generation, time and
     * capturing thread; the engine fills in the native code and text and the failed op or batch.
     */
    ErrorBuilder error(ErrorKind kind);

    /** The batch's work completed. If its generation failed meanwhile, its outputs count as failed (S6). */
    void completed(CommandBatch batch);

    /** The batch's work failed with {@code error}, which reaches as far as {@code scope}. */
    void failed(CommandBatch batch, StreamError error, ErrorScope scope);

    /** The batch's work failed with {@code error}, on this stream only. */
    default void failed(CommandBatch batch, StreamError error) {
        failed(batch, error, ErrorScope.STREAM);
    }

    /**
     * The engine's own code threw {@code cause} while running or reporting the batch (its last line
     * of defence). The SPI builds the error: {@code OUT_OF_MEMORY} for an {@link OutOfMemoryError},
     * {@code INTERNAL} otherwise; when even that cannot be allocated (the heap is exhausted), the
     * batch fails with an error its generation prepared in advance. Either way the batch ends and
     * every waiter is released (S13).
     */
    void failedUnexpectedly(CommandBatch batch, Throwable cause);

    /**
     * The engine did not run the batch because {@link CommandBatch#shouldRun()} was false: it fails
     * with its generation's error, never yields data (S6).
     */
    void discarded(CommandBatch batch);

    /**
     * Captures an error that no committed batch carries (a driver notification, a lost worker
     * process) into the slot of the generation it was built for.
     */
    void raise(StreamError error, ErrorScope scope);

    /**
     * For an engine about to execute {@code command}: waits for inputs that come from other streams
     * and returns the error that makes one of them unusable (S6), or null when all hold valid data.
     * Stops waiting early, returning null, when {@code abandon} becomes true.
     */
    StreamError awaitInputs(Command command, BooleanSupplier abandon);

    /**
     * Realises {@code command}'s injected fault where the engine executes it: fails the batch with
     * the rule's error (an injected {@code DEVICE_LOST} loses the device) and returns true. Returns
     * false, doing nothing, when the op has no injected fault or it is a silent corruption
     * ({@code VERIFICATION_MISMATCH}, which the engine writes into the output itself).
     */
    boolean failInjected(CommandBatch batch, Command command);

    /**
     * For engines that realise injected faults once a batch's work has ended (in a completion
     * callback): fails the batch with its first injected fault, skipping those
     * {@code realisedNatively} says the engine made happen for real. Returns whether it failed.
     */
    boolean failInjected(CommandBatch batch, Predicate<FaultRule> realisedNatively);
}
