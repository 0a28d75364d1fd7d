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
        close(poll(), stillOpen, closeTimeout);
    }

    /**
     * Asks for a collection and closes the streams it finds unreachable, waiting up to about 100 ms
     * for the first: before a limit on open streams refuses, as the memory budget does before it
     * refuses an array (streams nobody holds may not have been collected yet).
     */
    void collectAndCloseUnreachable(Predicate<Stream> stillOpen, Duration closeTimeout) {
        if (watching.isEmpty()) {
            return;
        }
        System.gc();
        List<Stream> found = new ArrayList<>();
        try {
            for (int i = 0; i < 4 && found.isEmpty(); i++) {
                Reference<? extends ComputeStream> r = queue.remove(25);
                if (r != null) {
                    found.add(taken(r));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        found.addAll(poll());
        close(found, stillOpen, closeTimeout);
    }

    private void close(List<Stream> found, Predicate<Stream> stillOpen, Duration closeTimeout) {
        for (Stream s : found) {
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

    private Stream taken(Reference<? extends ComputeStream> r) {
        Watch w = (Watch) r;
        watching.remove(w);
        return w.stream;
    }

    /** The streams found unreachable since the last call. Never blocks. */
    private List<Stream> poll() {
        List<Stream> found = List.of();
        Reference<? extends ComputeStream> r;
        while ((r = queue.poll()) != null) {
            if (found.isEmpty()) {
                found = new ArrayList<>();
            }
            found.add(taken(r));
        }
        return found;
    }
}
