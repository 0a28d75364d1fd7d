package org.backplane.spi.internal.backend;

import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.backplane.api.ComputeStream;
import org.backplane.spi.internal.stream.Stream;

/**
 * Finds streams that were never closed and that nothing reaches any more: a phantom reference to
 * the facade the host was given (arrays keep it reachable too), so the backend can close such a
 * stream and free its thread and memory. Polled, never a thread of its own.
 */
final class LeakedStreams {
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

    /** The streams found unreachable since the last call. Never blocks. */
    List<Stream> poll() {
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
