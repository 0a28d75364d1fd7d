package org.backplane.isolation.internal.host;

import java.lang.module.ModuleFinder;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.backplane.api.Capabilities;
import org.backplane.api.DeviceInfo;
import org.backplane.api.DeviceLostException;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.WorkerProcess;
import org.backplane.api.WorkerStatus;
import org.backplane.isolation.IsolationSettings;
import org.backplane.isolation.WorkerBackend;
import org.backplane.isolation.internal.wire.Frame;
import org.backplane.isolation.internal.wire.Message;
import org.backplane.isolation.internal.wire.Values;
import org.backplane.isolation.internal.worker.WorkerMain;
import org.backplane.spi.BackendEngine;
import org.backplane.spi.EngineFailure;
import org.backplane.spi.ErrorScope;
import org.backplane.spi.StreamEngine;
import org.backplane.spi.StreamSink;
import org.backplane.spi.device.NativeReaper;

/**
 * A backend engine whose device work runs in a worker process: the host side of process isolation.
 * It starts workers (from the host's own {@code java.home}, with a class path of exactly the jars
 * the backend needs), supervises them ({@link Supervisor}), counts their losses against the
 * {@link RestartPolicy}, and opens {@link RemoteStream}s in the current one. A lost worker is a lost
 * device for the SPI (S9); {@link #rebuildDevice} — the first reset after the loss — starts a fresh
 * worker, until the restart limit is passed and the backend stays down.
 */
public final class IsolatedEngine implements BackendEngine, WorkerProcess {
    private static final System.Logger LOG = System.getLogger(IsolatedEngine.class.getName());
    private static final int START_ATTEMPTS = 5;

    private final String id;
    private final PrivateDirectory directory;
    private final Launch launch;
    private final RestartPolicy restarts;
    private final Supervisor supervisor;
    private final NativeReaper<RemoteStorage.Handle> reaper = new NativeReaper<>();
    /** Released storage not yet told to its worker, by worker and stream. */
    private final Map<WorkerSession, Map<Long, List<Long>>> released = new HashMap<>();

    private int releasedCount;
    private long releasedBytes;
    /** Released storage is told in batches of this many arrays or bytes, whichever comes first. */
    private static final int RELEASE_BATCH = 256;

    private static final long RELEASE_BYTES = 64L << 20;
    private final Values values = new Values(IsolatedEngine.class.getClassLoader());
    private final CopyOnWriteArrayList<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final Object lifecycle = new Object();
    private volatile WorkerSession session;
    private volatile boolean stopped;
    private volatile StreamError lastLoss;
    private int starts;

    private IsolatedEngine(
            String id, Class<? extends WorkerBackend> backend, Map<String, String> config, IsolationSettings settings) {
        this.id = id;
        this.directory = new PrivateDirectory(id);
        List<String> options = new ArrayList<>();
        options.add("--enable-native-access=ALL-UNNAMED");
        options.addAll(jvmOptionsOf(backend));
        options.addAll(settings.jvmOptions());
        this.launch = new Launch(
                id,
                Path.of(System.getProperty("java.home"), "bin", "java"),
                List.copyOf(options),
                WorkerClasspath.of(
                        directory.path(), resourcesOf(backend), WorkerMain.class, BackendEngine.class, backend),
                WorkerMain.class.getName(),
                backend.getName(),
                config,
                directory,
                settings.startTimeout());
        this.restarts = new RestartPolicy(settings.restartLimit(), settings.restartWindow(), settings.restartBackoff());
        this.supervisor = new Supervisor(id, () -> session, settings.heartbeat(), settings.heartbeatTimeout());
    }

    /** The resources the backend's worker needs beyond its own jar. */
    private static List<String> resourcesOf(Class<? extends WorkerBackend> backend) {
        try {
            return backend.getConstructor().newInstance().classpathResources();
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException(backend.getName() + " needs a public no-argument constructor", e);
        }
    }

    /** The options the backend asks for, and the Vector API where this JVM has it. */
    private static List<String> jvmOptionsOf(Class<? extends WorkerBackend> backend) {
        List<String> options = new ArrayList<>();
        try {
            options.addAll(backend.getConstructor().newInstance().jvmOptions());
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException(backend.getName() + " needs a public no-argument constructor", e);
        }
        if (ModuleFinder.ofSystem().find("jdk.incubator.vector").isPresent()
                && options.stream().noneMatch(o -> o.contains("jdk.incubator.vector"))) {
            options.add("--add-modules=jdk.incubator.vector");
        }
        return options;
    }

    /**
     * Starts the engine and its first worker.
     *
     * @throws IllegalStateException if the worker does not start, saying why
     */
    public static IsolatedEngine start(
            String id, Class<? extends WorkerBackend> backend, Map<String, String> config, IsolationSettings settings) {
        IsolatedEngine engine = new IsolatedEngine(id, backend, config, settings);
        try {
            synchronized (engine.lifecycle) {
                engine.startWorker("backend start");
            }
        } catch (RuntimeException e) {
            engine.directory.close();
            throw e;
        }
        engine.supervisor.start();
        return engine;
    }

    public String id() {
        return id;
    }

    /** The worker's device, with how it is isolated. */
    public DeviceInfo device() {
        DeviceInfo d = session.device;
        Map<String, String> details = new LinkedHashMap<>(d.details());
        details.put(
                "isolation",
                "process (a supervised worker JVM; restart limit " + restarts.limit() + " in "
                        + restarts.window().toMinutes() + " min)");
        details.put("worker directory", directory.toString());
        return new DeviceInfo(d.name(), d.vendor(), d.memoryBytes(), d.computeUnits(), details);
    }

    public Capabilities capabilities() {
        return session.capabilities;
    }

    Values values() {
        return values;
    }

    NativeReaper<RemoteStorage.Handle> reaper() {
        return reaper;
    }

    WorkerSession currentSession() {
        return session;
    }

    // ------------------------------------------------------------------ streams

    @Override
    public StreamEngine openStream(StreamSink sink) {
        releases(false);
        WorkerSession s;
        try {
            s = ensureWorker();
        } catch (RuntimeException e) {
            throw new EngineFailure(
                    sink.error(ErrorKind.DEVICE_LOST)
                            .message("backend '" + id + "' has no worker process: " + e.getMessage())
                            .build(),
                    ErrorScope.STREAM);
        }
        RemoteStream stream = new RemoteStream(this, sink, directory);
        stream.open(s);
        return stream;
    }

    /** The running worker; a lost one (lost while no stream used it) is replaced first. */
    private WorkerSession ensureWorker() {
        synchronized (lifecycle) {
            WorkerSession s = session;
            if (s != null && s.isAlive()) {
                return s;
            }
            replace("a stream was opened after the worker was lost");
            return session;
        }
    }

    /**
     * Collects the storage the host no longer holds (closed or unreachable arrays) and tells the
     * worker: with {@code now}, or once enough has gathered — a message per closed array would cost
     * more than the op that made it. At most {@code RELEASE_BYTES} wait in the worker for it.
     */
    void releases(boolean now) {
        Map<WorkerSession, Map<Long, List<Long>>> send;
        synchronized (released) {
            reaper.drain(h -> {
                released.computeIfAbsent(h.session(), k -> new HashMap<>())
                        .computeIfAbsent(h.stream(), k -> new ArrayList<>())
                        .add(h.id());
                releasedCount++;
                releasedBytes += h.bytes();
            });
            if (releasedCount == 0 || (!now && releasedCount < RELEASE_BATCH && releasedBytes < RELEASE_BYTES)) {
                return;
            }
            send = new HashMap<>(released);
            released.clear();
            releasedCount = 0;
            releasedBytes = 0;
        }
        send.forEach((s, byStream) -> byStream.forEach((stream, ids) -> {
            Frame f = new Frame(Message.RELEASE).putLong(stream).putInt(ids.size());
            ids.forEach(f::putLong);
            s.sendQuietly(f);
        }));
    }

    // ------------------------------------------------------------------ device loss (S9) and restarts

    @Override
    public boolean canRebuildDevice() {
        return !stopped && !restarts.isDown();
    }

    @Override
    public void rebuildDevice() {
        synchronized (lifecycle) {
            replace("reset after the device was lost");
        }
    }

    @Override
    public String deviceLossAdvice() {
        if (restarts.isDown()) {
            return "Backend '" + id + "' stays down: " + restarts.downReason() + ". Fix the cause, then update the "
                    + "backend's configuration or restart its bundle to try again.";
        }
        return "Reset the streams to continue on a fresh worker process.";
    }

    @Override
    public void deviceLost(StreamError cause) {
        lastLoss = cause;
        WorkerSession s = session;
        if (s != null) {
            s.retire(cause);
        }
    }

    /** Starts a fresh worker in place of a lost one, after the backoff; throws when the backend is down. */
    private void replace(String why) {
        if (stopped) {
            throw new IllegalStateException("backend '" + id + "' is stopped");
        }
        if (restarts.isDown()) {
            throw new DeviceLostException(id, lastLoss, deviceLossAdvice());
        }
        WorkerSession old = session;
        if (old != null && old.isAlive()) {
            old.retire(lastLoss);
            old.end("replaced: " + why);
        }
        Duration wait = restarts.backoff(Instant.now());
        Uninterruptible.sleep(wait.toMillis());
        startWorker(why);
    }

    /**
     * Starts a worker; a start that fails is tried again a few times (0.25, 0.5, 1, 2 s later): the
     * worker just lost may still be giving its device memory back, and a fresh context then fails
     * with out-of-memory for a moment.
     */
    private void startWorker(String why) {
        WorkerSession s = null;
        for (int attempt = 0; s == null; attempt++) {
            try {
                int number = ++starts;
                s = Uninterruptible.call(() -> WorkerSession.start(this, number, launch));
            } catch (IllegalStateException e) {
                if (attempt == START_ATTEMPTS - 1) {
                    throw e;
                }
                long wait = 250L << attempt;
                LOG.log(
                        System.Logger.Level.WARNING,
                        () -> "backend '" + id + "': a worker did not start (" + e.getMessage() + "); trying again in "
                                + wait + " ms");
                Uninterruptible.sleep(wait);
            }
        }
        WorkerSession started = s;
        session = started;
        LOG.log(
                starts == 1 ? System.Logger.Level.INFO : System.Logger.Level.WARNING,
                () -> "backend '" + id + "' started worker process " + started.pid + " (worker " + started.number + ", "
                        + why + ")");
        changed();
    }

    /** A worker ended on its own (or was killed): counted against the restart limit. */
    void lost(String reason) {
        if (stopped) {
            return;
        }
        if (restarts.lost(reason, Instant.now())) {
            LOG.log(
                    System.Logger.Level.ERROR,
                    () -> "BACKEND '" + id + "' IS DOWN: " + restarts.downReason()
                            + ". It stays down; the backend selection falls back to the next backend it prefers.");
        }
        changed();
    }

    private void changed() {
        for (Runnable l : listeners) {
            try {
                l.run();
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.WARNING, "a worker status listener failed", t);
            }
        }
    }

    // ------------------------------------------------------------------ WorkerProcess

    @Override
    public WorkerStatus status() {
        WorkerSession s = session;
        WorkerStatus.State state = stopped
                ? WorkerStatus.State.STOPPED
                : restarts.isDown()
                        ? WorkerStatus.State.DOWN
                        : s != null && s.isAlive() && s.retiredFor() == null
                                ? WorkerStatus.State.RUNNING
                                : WorkerStatus.State.LOST;
        return new WorkerStatus(
                state,
                s != null && s.isAlive() ? s.pid : 0,
                starts,
                restarts.losses(),
                restarts.last(),
                restarts.lastTime(),
                restarts.limit(),
                restarts.window());
    }

    @Override
    public void addListener(Runnable changed) {
        listeners.add(changed);
    }

    @Override
    public void removeListener(Runnable changed) {
        listeners.remove(changed);
    }

    @Override
    public <T> Optional<T> feature(Class<T> type) {
        return type == WorkerProcess.class ? Optional.of(type.cast(this)) : Optional.empty();
    }

    // ------------------------------------------------------------------ threads and stop (S11)

    /** The heartbeat and the current worker's reader. */
    @Override
    public int threads() {
        WorkerSession s = session;
        return (supervisor.isAlive() ? 1 : 0) + (s != null && s.readerAlive() ? 1 : 0);
    }

    @Override
    public void shutdown(Duration timeout) {
        stopped = true;
        supervisor.stop();
        WorkerSession s = session;
        if (s != null) {
            s.stop(timeout);
        }
        directory.close();
        changed();
        listeners.clear();
    }

    @Override
    public String toString() {
        return "IsolatedEngine[" + id + ", " + status().describe() + "]";
    }
}
