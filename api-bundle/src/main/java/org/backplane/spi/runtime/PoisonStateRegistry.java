package org.backplane.spi.runtime;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.PoisonStateService;
import org.backplane.api.StreamId;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.StreamStateListener;

/**
 * The poison-state service over a set of backends that come and go: every stream of every added
 * backend, reset by id. The runtime bundle's component wraps it for OSGi (whiteboard listeners,
 * events); programs without OSGi (tests, the GPU fault scenarios) use it directly.
 */
public final class PoisonStateRegistry implements PoisonStateService {
    private static final System.Logger LOG = System.getLogger(PoisonStateRegistry.class.getName());

    private final Map<String, ExecutionBackend> backends = new ConcurrentHashMap<>();
    private final StreamStateListener relay;

    /** A registry whose backends' transitions all go to {@code relay} (on each backend's delivery thread). */
    public PoisonStateRegistry(StreamStateListener relay) {
        this.relay = Objects.requireNonNull(relay, "relay");
    }

    /** A registry that only observes and resets. */
    public PoisonStateRegistry() {
        this(t -> {});
    }

    /** Adds a backend; a second one with the same id replaces the first (with a warning). */
    public void add(ExecutionBackend backend) {
        ExecutionBackend previous = backends.put(backend.id(), backend);
        if (previous != null && previous != backend) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    () -> "two backends registered with backend.id=" + backend.id()
                            + "; the poison-state service follows the newer one");
            previous.removeStreamStateListener(relay);
        }
        backend.addStreamStateListener(relay);
    }

    public void remove(ExecutionBackend backend) {
        backend.removeStreamStateListener(relay);
        backends.remove(backend.id(), backend);
    }

    /** Stops following every backend. */
    public void clear() {
        for (ExecutionBackend b : backends.values()) {
            remove(b);
        }
    }

    /** The backends followed now, by id. */
    public Map<String, ExecutionBackend> backends() {
        return Map.copyOf(backends);
    }

    @Override
    public List<StreamSnapshot> streams() {
        List<StreamSnapshot> all = new ArrayList<>();
        for (ExecutionBackend b : backends.values()) {
            all.addAll(b.streams());
        }
        all.sort(Comparator.comparing((StreamSnapshot s) -> s.backendId()).thenComparingLong(s -> s.id().number()));
        return all;
    }

    @Override
    public Optional<StreamSnapshot> stream(StreamId id) {
        Objects.requireNonNull(id, "stream id must not be null");
        ExecutionBackend b = backends.get(id.backendId());
        return b == null ? Optional.empty() : b.stream(id);
    }

    @Override
    public StreamSnapshot reset(StreamId id) {
        Objects.requireNonNull(id, "stream id must not be null");
        ExecutionBackend b = backends.get(id.backendId());
        if (b == null) {
            throw new IllegalArgumentException(
                    "no backend '" + id.backendId() + "' is registered (known: " + backends.keySet() + ")");
        }
        return b.reset(id);
    }

    @Override
    public int resetAll() {
        int n = 0;
        for (ExecutionBackend b : backends.values()) {
            n += b.resetAll();
        }
        return n;
    }
}
