package org.backplane.api.fault;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.backplane.api.ErrorKind;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.StreamId;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Schedules faults on a backend. Obtained with {@link #of(ExecutionBackend)}, which is empty unless
 * the backend's configuration sets {@code faultInjection.enabled=true}.
 *
 * <p>A scheduled fault is realised by the backend where the work executes (on the CPU backend's
 * stream worker, in a GPU completion callback), so it travels exactly the path a real failure
 * would. One kind is special: {@link ErrorKind#VERIFICATION_MISMATCH} makes the op return a
 * silently wrong result and report success, as corrupted hardware would; only result checking
 * against the CPU reference can catch it.
 */
@ProviderType
public interface FaultInjector {
    /**
     * The fault injector of a backend: present only when fault injection was enabled in its
     * configuration ({@code faultInjection.enabled=true}); otherwise empty.
     *
     * @throws NullPointerException if backend is null
     */
    static Optional<FaultInjector> of(ExecutionBackend backend) {
        return Objects.requireNonNull(backend, "backend must not be null").feature(FaultInjector.class);
    }

    /** Adds a rule. Rules are checked for every op submitted after this call. */
    void schedule(FaultRule rule);

    /** Removes a rule; returns whether it was present. */
    boolean remove(FaultRule rule);

    /** Removes all rules. */
    void clear();

    /** The current rules, in the order they were added. */
    List<FaultRule> rules();

    /**
     * Captures an error into a stream's slot right now, from the calling thread, the way a driver
     * callback reporting an asynchronous failure would. Used to test captures that arrive while
     * the stream is busy, idle, or already failed.
     *
     * @throws IllegalArgumentException if the backend has no open stream with that id
     */
    void raise(StreamId stream, ErrorKind kind, long nativeCode, String message);

    /**
     * Holds a stream: its work committed from now on stays in flight (neither completed nor failed)
     * until the hold is released, however fast the device is, so that tests can observe waiters,
     * stops and failures behind queued work. The held batches wait in Backplane; on a GPU their
     * kernels may already run, but their completion is not reported before the release. Closing,
     * resetting or stopping the stream releases its hold. Use a held stream's arrays on other
     * streams only after the release.
     *
     * @throws IllegalArgumentException if the backend has no open stream with that id
     * @throws IllegalStateException if the stream is already held
     */
    Hold hold(StreamId stream);
}
