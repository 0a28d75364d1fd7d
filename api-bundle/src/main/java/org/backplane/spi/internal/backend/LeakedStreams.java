package org.backplane.spi.internal.backend;

import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.backplane.api.ComputeStream;
import org.backplane.api.StreamError;
import org.backplane.spi.internal.stream.Stream;

/**
 * Finds streams that were never closed and that nothing reaches any more: a phantom reference to
 * the facade the host was given (arrays keep it reachable too), so the backend can close such a
 * stream and free its thread and memory. Polled, never a thread of its own.
 */
final class LeakedStreams {
    private static final System.Logger LOG = System.getLogger(LeakedStreams.class.getName());

    private final ReferenceQueue<ComputeStream> queue = new ReferenceQueue<>();
    private final Set<Watch> watching = ConcurrentHashMap.newKeySet();

    private static final class Watch extends PhantomReference<ComputeStream> {
        final Stream stream;

        Watch(ComputeStream facade, Stream stream, ReferenceQueue<ComputeStream> queue) {
            super(facade, queue);
            this.stream = stream;
        }
    }

    void watch(ComputeStream facade, Stream stream) {
        watching.add(new Watch(facade, stream, queue));
    }

    /** Closes, logging each, the streams found unreachable since the last look that are still open. */
    void closeUnreachable(Predicate<Stream> stillOpen, Duration closeTimeout) {
        for (Stream s : poll()) {
            if (!stillOpen.test(s)) {
                continue;
            }
            LOG.log(
                    System.Logger.Level.WARNING,
                    () -> "stream " + s.id() + " '" + s.label() + "' was never closed and nothing of it is reachable "
                            + "any more; closing it to free its thread and memory. Close streams when done "
                            + "(try-with-resources).");
            StreamError unreported = s.shutdown(null, closeTimeout);
            if (unreported != null) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        () -> "the leaked stream " + s.id() + " had failed, and nobody was told: "
                                + unreported.describe());
            }
        }
    }

    /** The streams found unreachable since the last call. Never blocks. */
    private List<Stream> poll() {
        List<Stream> found = List.of();
        Reference<? extends ComputeStream> r;
        while ((r = queue.poll()) != null) {
            Watch w = (Watch) r;
            watching.remove(w);
            if (found.isEmpty()) {
                found = new ArrayList<>();
            }
            found.add(w.stream);
        }
        return found;
    }
}
