package org.backplane.runtime.internal;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.backplane.api.BackendState;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.PoisonStateService;
import org.backplane.api.StreamError;
import org.backplane.api.StreamEvents;
import org.backplane.api.StreamId;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.StreamStateListener;
import org.backplane.api.StreamTransition;
import org.backplane.api.WorkerProcess;
import org.backplane.api.WorkerStatus;
import org.backplane.spi.runtime.PoisonStateRegistry;
import org.backplane.spi.runtime.TransitionDispatcher;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventAdmin;

/**
 * The poison-state service: every stream of every registered backend, as backends come and go.
 * Each backend's transitions are relayed to whiteboard {@link StreamStateListener} services (a
 * mailbox per listener, so one that throws or blocks delays nobody) and posted asynchronously to
 * EventAdmin on the {@link StreamEvents} topics.
 */
@Component(service = PoisonStateService.class, immediate = true)
public final class PoisonStateComponent implements PoisonStateService {
    private static final System.Logger LOG = System.getLogger(PoisonStateComponent.class.getName());

    private final TransitionDispatcher whiteboard = new TransitionDispatcher("backplane-runtime");
    private final PoisonStateRegistry registry = new PoisonStateRegistry(this::relay);
    /** Backends whose device loss was already posted, so that one loss posts one event. */
    private final Set<String> lostPosted = ConcurrentHashMap.newKeySet();

    private volatile EventAdmin eventAdmin;
    private final Map<ExecutionBackend, Runnable> workerListeners = new ConcurrentHashMap<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindBackend(ExecutionBackend backend) {
        registry.add(backend);
        backend.feature(WorkerProcess.class).ifPresent(w -> {
            Runnable changed = () -> postWorker(backend.id(), w.status());
            workerListeners.put(backend, changed);
            w.addListener(changed);
        });
    }

    void unbindBackend(ExecutionBackend backend) {
        registry.remove(backend);
        Runnable changed = workerListeners.remove(backend);
        if (changed != null) {
            backend.feature(WorkerProcess.class).ifPresent(w -> w.removeListener(changed));
        }
    }

    /** An isolated backend's worker changed: posted (asynchronously) on {@link StreamEvents#TOPIC_WORKER}. */
    private void postWorker(String backendId, WorkerStatus w) {
        EventAdmin admin = eventAdmin;
        if (admin == null) {
            return;
        }
        Map<String, Object> p = new HashMap<>();
        p.put(StreamEvents.PROP_BACKEND_ID, backendId);
        p.put(StreamEvents.PROP_WORKER_STATE, w.state().name());
        p.put(StreamEvents.PROP_WORKER_PID, w.pid());
        p.put(StreamEvents.PROP_WORKER_STARTS, w.starts());
        p.put(StreamEvents.PROP_WORKER_CRASHES, w.crashes());
        p.put(StreamEvents.PROP_WORKER_LAST_CRASH, w.lastCrash());
        p.put(StreamEvents.PROP_TIMESTAMP, System.currentTimeMillis());
        admin.postEvent(new Event(StreamEvents.TOPIC_WORKER, p));
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindListener(StreamStateListener listener) {
        whiteboard.add(listener);
    }

    void unbindListener(StreamStateListener listener) {
        whiteboard.remove(listener);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    void bindEventAdmin(EventAdmin admin) {
        this.eventAdmin = admin;
    }

    void unbindEventAdmin(EventAdmin admin) {
        if (this.eventAdmin == admin) {
            this.eventAdmin = null;
        }
    }

    @Deactivate
    void deactivate() {
        registry.clear();
        whiteboard.close();
    }

    /** Called on a backend's delivery thread for each of its transitions. */
    private void relay(StreamTransition t) {
        whiteboard.publish(t);
        EventAdmin admin = eventAdmin;
        if (admin == null) {
            return;
        }
        try {
            if (t.type() == StreamTransition.Type.DEVICE_LOST) {
                if (lostPosted.add(t.snapshot().backendId())) {
                    admin.postEvent(new Event(StreamEvents.TOPIC_DEVICE_LOST, eventProperties(t)));
                }
                return;
            }
            if (t.type() == StreamTransition.Type.RESET) {
                ExecutionBackend b = registry.backends().get(t.snapshot().backendId());
                if (b != null && b.state() == BackendState.RUNNING) {
                    lostPosted.remove(t.snapshot().backendId());
                }
            }
            if (t.type() != StreamTransition.Type.OPENED) {
                admin.postEvent(new Event(StreamEvents.topic(t.type()), eventProperties(t)));
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "could not post a stream event", e);
        }
    }

    /** String and primitive properties only, as the contract promises event consumers. */
    static Map<String, Object> eventProperties(StreamTransition t) {
        StreamSnapshot s = t.snapshot();
        Map<String, Object> p = new HashMap<>();
        p.put(StreamEvents.PROP_STREAM_ID, s.id().toString());
        p.put(StreamEvents.PROP_STREAM_LABEL, s.label());
        p.put(StreamEvents.PROP_BACKEND_ID, s.backendId());
        p.put(StreamEvents.PROP_STATE, s.state().name());
        p.put(StreamEvents.PROP_PREVIOUS_STATE, t.from() == null ? "" : t.from().name());
        p.put(StreamEvents.PROP_GENERATION, s.generation());
        p.put(StreamEvents.PROP_MEMORY_BYTES, s.memoryBytes());
        p.put(StreamEvents.PROP_TIMESTAMP, t.at().toEpochMilli());
        StreamError e = t.error() != null ? t.error() : s.firstError();
        if (e != null) {
            p.put(StreamEvents.PROP_ERROR_KIND, e.kind().name());
            p.put(StreamEvents.PROP_ERROR_CODE, e.nativeCode());
            p.put(StreamEvents.PROP_ERROR_TEXT, e.nativeText());
            p.put(StreamEvents.PROP_ERROR_MESSAGE, e.message());
            p.put(StreamEvents.PROP_ERROR_OP, e.failedOp());
            p.put(StreamEvents.PROP_ERROR_SEQUENCE, e.sequence());
        }
        return p;
    }

    @Override
    public List<StreamSnapshot> streams() {
        return registry.streams();
    }

    @Override
    public Optional<StreamSnapshot> stream(StreamId id) {
        return registry.stream(id);
    }

    @Override
    public StreamSnapshot reset(StreamId id) {
        return registry.reset(id);
    }

    @Override
    public int resetAll() {
        return registry.resetAll();
    }

    /** The registered backends, by id. */
    Map<String, ExecutionBackend> backends() {
        return registry.backends();
    }
}
