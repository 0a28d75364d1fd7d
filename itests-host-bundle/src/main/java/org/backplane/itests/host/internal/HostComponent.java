package org.backplane.itests.host.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.backplane.api.ActiveBackend;
import org.backplane.api.BackendStoppedException;
import org.backplane.api.BackplaneException;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamClosedException;
import org.backplane.api.StreamErrorException;
import org.backplane.itests.host.HostProbe;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/** A host that holds the active backend the way the API documentation recommends. */
@Component(immediate = true)
public final class HostComponent implements HostProbe {
    private static final Duration STOP_BOUND = Duration.ofSeconds(10);
    private static final AtomicInteger ACTIVATIONS = new AtomicInteger(); // test bookkeeping only: counts restarts

    private final List<String> bindings = new CopyOnWriteArrayList<>();
    private final AtomicLong submitted = new AtomicLong();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong failedClearly = new AtomicLong();
    private final AtomicLong wrong = new AtomicLong();
    private final List<String> unexplained = new CopyOnWriteArrayList<>();
    private final List<String> otherFailures = new CopyOnWriteArrayList<>();
    private final List<String> backendsUsed = new CopyOnWriteArrayList<>();
    private final Map<String, AtomicLong> failuresByKind = new ConcurrentHashMap<>();
    private volatile ActiveBackend backend;
    private volatile boolean working;
    private final List<Thread> workers = new ArrayList<>();

    @Reference(
            cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindBackend(ActiveBackend b) {
        bindings.add("bind " + b.id());
        backend = b;
    }

    void unbindBackend(ActiveBackend b) {
        bindings.add("unbind " + b.id());
        if (backend == b) {
            backend = null;
        }
    }

    @Activate
    void activate() {
        ACTIVATIONS.incrementAndGet();
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        if (working) {
            stopWork();
        }
    }

    @Override
    public List<String> bindings() {
        return List.copyOf(bindings);
    }

    @Override
    public String currentBackend() {
        ActiveBackend b = backend;
        return b == null ? null : b.id();
    }

    @Override
    public int activations() {
        return ACTIVATIONS.get();
    }

    @Override
    public synchronized void startWork(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, not " + threads);
        }
        if (working) {
            throw new IllegalStateException("work is already running; stop it first");
        }
        working = true;
        for (int i = 0; i < threads; i++) {
            workers.add(Thread.ofPlatform().name("itests-host-work-" + i).start(this::work));
        }
    }

    private void work() {
        float v = 1;
        while (working) {
            ActiveBackend b = backend;
            if (b == null) {
                LockSupport.parkNanos(1_000_000); // between an unbind and the next bind
                continue;
            }
            if (!backendsUsed.contains(b.id())) {
                backendsUsed.add(b.id());
            }
            ComputeStream s;
            try {
                s = b.openStream("host-work");
            } catch (BackplaneException e) {
                LockSupport.parkNanos(1_000_000);
                continue; // the backend went away between the read and the call; the next loop sees the new one
            }
            try {
                for (int i = 0; i < 20 && working; i++, v++) {
                    submitted.incrementAndGet();
                    try {
                        DeviceArray x = s.upload(new float[] {v, 2 * v}, 2);
                        float[] y = s.add(s.mul(x, x), x).download();
                        if (y[0] == v * v + v && y[1] == 4 * v * v + 2 * v) {
                            completed.incrementAndGet();
                        } else {
                            wrong.incrementAndGet();
                        }
                    } catch (BackplaneException e) {
                        failedClearly.incrementAndGet(); // for example: the backend stopped under this stream
                        String kind = kindOf(e);
                        failuresByKind
                                .computeIfAbsent(kind, k -> new AtomicLong())
                                .incrementAndGet();
                        if (!kind.equals(ErrorKind.BACKEND_STOPPED.name()) && otherFailures.size() < 5) {
                            otherFailures.add(kind + ": " + e.getMessage());
                        }
                        break;
                    } catch (RuntimeException e) {
                        unexplained.add(e.toString());
                        break;
                    }
                }
            } finally {
                s.close();
            }
        }
    }

    private static String kindOf(BackplaneException e) {
        return switch (e) {
            case BackendStoppedException stopped -> ErrorKind.BACKEND_STOPPED.name();
            case StreamErrorException failed -> failed.error().kind().name();
            case StreamClosedException closed
            when closed.error() != null -> closed.error().kind().name();
            case StreamClosedException closed -> "STREAM_CLOSED";
            default -> e.getClass().getSimpleName();
        };
    }

    @Override
    public synchronized WorkReport stopWork() throws InterruptedException {
        working = false;
        int hung = 0;
        for (Thread t : workers) {
            if (!t.join(STOP_BOUND)) {
                hung++;
            }
        }
        workers.clear();
        Map<String, Long> kinds = new TreeMap<>();
        failuresByKind.forEach((k, n) -> kinds.put(k, n.get()));
        return new WorkReport(
                submitted.get(),
                completed.get(),
                failedClearly.get(),
                wrong.get(),
                List.copyOf(unexplained),
                new ArrayList<>(backendsUsed),
                kinds,
                List.copyOf(otherFailures),
                hung);
    }
}
