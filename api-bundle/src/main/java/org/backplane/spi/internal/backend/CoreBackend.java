package org.backplane.spi.internal.backend;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.backplane.api.BackendState;
import org.backplane.api.BackendStoppedException;
import org.backplane.api.BackendUsage;
import org.backplane.api.Capabilities;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceInfo;
import org.backplane.api.ErrorKind;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.Shape;
import org.backplane.api.StreamError;
import org.backplane.api.StreamId;
import org.backplane.api.StreamOptions;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.StreamState;
import org.backplane.api.StreamStateListener;
import org.backplane.api.StreamTransition;
import org.backplane.api.fault.FaultInjector;
import org.backplane.api.fault.FaultRule;
import org.backplane.spi.BackendEngine;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.ManagedBackend;
import org.backplane.spi.ResultChecker;
import org.backplane.spi.internal.stream.BackendContext;
import org.backplane.spi.internal.stream.DeferredCompletion;
import org.backplane.spi.internal.stream.MemoryBudget;
import org.backplane.spi.internal.stream.Stream;
import org.backplane.spi.runtime.ResultChecking;
import org.backplane.spi.runtime.TransitionDispatcher;

/**
 * A backend as the SPI implements it: its streams, listeners (S8), fault injection, result
 * checking, device loss (S9, through {@link DeviceLoss}) and safe stop (S11). Created with the
 * engine a backend component supplies; served as that component's {@link ExecutionBackend}.
 */
public final class CoreBackend implements ManagedBackend, BackendContext, ResultChecking {
    private static final System.Logger LOG = System.getLogger(CoreBackend.class.getName());

    private final String id;
    private final DeviceInfo device;
    private final Capabilities capabilities;
    private final BackendEngine engine;
    private final BackendSettings settings;
    private final FaultPlan faults;
    private final DeviceLoss deviceLoss;
    private final TransitionDispatcher dispatcher;
    private final ConcurrentHashMap<Long, Stream> streams = new ConcurrentHashMap<>();
    private final AtomicLong streamNumbers = new AtomicLong();
    private final Object lifecycle = new Object();
    private final AtomicReference<BackendState> state = new AtomicReference<>(BackendState.RUNNING);
    private volatile ResultChecker resultChecker;
    private volatile DeferredCompletion deferred; // started on first need, joined at stop
    private final MemoryBudget memory;
    private final LeakedStreams leaked = new LeakedStreams();

    public CoreBackend(
            String id, DeviceInfo device, Capabilities capabilities, BackendEngine engine, BackendSettings settings) {
        this.id = Objects.requireNonNull(id, "id");
        this.device = Objects.requireNonNull(device, "device");
        this.engine = Objects.requireNonNull(engine, "engine");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.capabilities = new Capabilities(
                capabilities.dtypes(),
                capabilities.maxArrayBytes(),
                capabilities.maxRank(),
                settings.faultInjection(),
                capabilities.kernels());
        this.faults = settings.faultInjection() ? new FaultPlan(this, settings.faultRules()) : null;
        this.deviceLoss = new DeviceLoss(this, engine);
        this.memory = new MemoryBudget(settings.memory(), device.memoryBytes());
        this.dispatcher = new TransitionDispatcher("backplane-" + id);
        if (faults != null) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    () -> "Backplane backend '" + id + "' has FAULT INJECTION ENABLED with rules "
                            + settings.faultRules() + "; never use this in production");
        }
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public ExecutionBackend api() {
        return this;
    }

    @Override
    public DeviceInfo device() {
        return device;
    }

    @Override
    public Capabilities capabilities() {
        return capabilities;
    }

    @Override
    public BackendState state() {
        return state.get();
    }

    @Override
    public BackendSettings settings() {
        return settings;
    }

    @Override
    public boolean isStopped() {
        return state.get() == BackendState.STOPPED;
    }

    @Override
    public <T> Optional<T> feature(Class<T> type) {
        Objects.requireNonNull(type, "type must not be null");
        if (type == FaultInjector.class) {
            return Optional.ofNullable(faults).map(type::cast);
        }
        if (type == ResultChecking.class) {
            return Optional.of(type.cast(this));
        }
        return engine.feature(type);
    }

    // ------------------------------------------------------------------ streams

    @Override
    public ComputeStream openStream(String label) {
        return openStream(label, StreamOptions.DEFAULT);
    }

    @Override
    public ComputeStream openStream(String label, StreamOptions options) {
        Objects.requireNonNull(label, "label must not be null");
        Objects.requireNonNull(options, "options must not be null");
        closeLeaked();
        if (settings.maxStreams() <= streams.size()) { // at the maximum: reclaim before refusing
            leaked.collectAndCloseUnreachable(s -> streams.containsKey(s.id().number()), settings.closeTimeout());
        }
        synchronized (lifecycle) {
            if (isStopped()) {
                throw new BackendStoppedException(id);
            }
            if (streams.size() >= settings.maxStreams()) {
                throw new IllegalStateException("backend '" + id + "' already has " + streams.size()
                        + " open streams, its maximum (" + BackendSettings.STREAMS_MAX + "); close the streams you "
                        + "no longer use, or raise the maximum");
            }
            deviceLoss.recoverIfLost();
            Stream stream = new Stream(
                    this, new StreamId(id, streamNumbers.incrementAndGet()), label, options.memoryQuotaBytes());
            stream.attach(engine.openStream(stream.sink()));
            ComputeStream facade = stream.newFacade();
            streams.put(stream.id().number(), stream);
            leaked.watch(facade, stream);
            stream.publish(StreamTransition.Type.OPENED, StreamState.ACTIVE, null);
            return facade;
        }
    }

    /** Closes the streams nobody can reach any more (neither the stream nor any of its arrays). */
    private void closeLeaked() {
        leaked.closeUnreachable(s -> streams.containsKey(s.id().number()), settings.closeTimeout());
    }

    @Override
    public BackendUsage usage() {
        closeLeaked();
        return new BackendUsage(
                memory.limit(),
                memory.used(),
                memory.peak(),
                engine.pooledBytes(),
                memory.reserve(),
                memory.defaultQuota(),
                memory.highWaterPercent(),
                streams.size(),
                settings.maxStreams(),
                engine.threads());
    }

    @Override
    public MemoryBudget memory() {
        return memory;
    }

    @Override
    public List<StreamSnapshot> streams() {
        closeLeaked();
        List<StreamSnapshot> out = new ArrayList<>();
        for (Stream s : streams.values()) {
            out.add(s.snapshot());
        }
        out.sort(Comparator.comparingLong(s -> s.id().number()));
        return out;
    }

    @Override
    public Optional<StreamSnapshot> stream(StreamId streamId) {
        Objects.requireNonNull(streamId, "stream id must not be null");
        if (!streamId.backendId().equals(id)) {
            return Optional.empty();
        }
        closeLeaked();
        Stream s = streams.get(streamId.number());
        return s == null ? Optional.empty() : Optional.of(s.snapshot());
    }

    Stream requireStream(StreamId streamId) {
        Objects.requireNonNull(streamId, "stream id must not be null");
        Stream s = streamId.backendId().equals(id) ? streams.get(streamId.number()) : null;
        if (s == null) {
            throw new IllegalArgumentException("backend '" + id + "' has no open stream " + streamId);
        }
        return s;
    }

    @Override
    public StreamSnapshot reset(StreamId streamId) {
        Stream s = requireStream(streamId);
        recoverDeviceIfLost();
        return s.reset(settings.resetTimeout());
    }

    @Override
    public int resetAll() {
        recoverDeviceIfLost();
        int n = 0;
        for (Stream s : streams.values()) {
            StreamSnapshot snapshot = s.snapshot();
            if (!snapshot.isHealthy() && snapshot.state() != StreamState.CLOSED) {
                s.reset(settings.resetTimeout());
                n++;
            }
        }
        return n;
    }

    @Override
    public void closed(Stream stream) {
        streams.remove(stream.id().number(), stream);
    }

    // ------------------------------------------------------------------ device loss (S9)

    private void recoverDeviceIfLost() {
        synchronized (lifecycle) {
            if (isStopped()) {
                throw new BackendStoppedException(id);
            }
            deviceLoss.recoverIfLost();
        }
    }

    @Override
    public void deviceLost(StreamError cause) {
        deviceLoss.lost(cause, streams.values());
    }

    /** The error that lost the device, while the backend is in {@link BackendState#DEVICE_LOST}. */
    public Optional<StreamError> deviceLoss() {
        return Optional.ofNullable(deviceLoss.cause());
    }

    /** RUNNING → DEVICE_LOST; false if the backend is not running. Never blocks: driver threads call it. */
    boolean markDeviceLost() {
        return state.compareAndSet(BackendState.RUNNING, BackendState.DEVICE_LOST);
    }

    /** DEVICE_LOST → RUNNING, after the engine rebuilt the device (a stop meanwhile wins). */
    void markRunning() {
        state.compareAndSet(BackendState.DEVICE_LOST, BackendState.RUNNING);
    }

    // ------------------------------------------------------------------ result checking

    @Override
    public void install(ResultChecker checker) {
        if (checker != null) {
            deferredCompletion();
        }
        resultChecker = checker;
    }

    @Override
    public Optional<ResultChecker> installed() {
        return Optional.ofNullable(resultChecker);
    }

    @Override
    public ResultChecker resultChecker() {
        return resultChecker;
    }

    @Override
    public DeferredCompletion deferredCompletion() {
        DeferredCompletion d = deferred;
        if (d != null) {
            return d;
        }
        synchronized (lifecycle) {
            if (deferred == null && !isStopped()) {
                deferred = new DeferredCompletion(this);
            }
            return deferred;
        }
    }

    @Override
    public void settled() {
        DeferredCompletion d = deferred;
        if (d != null) {
            d.wake();
        }
    }

    // ------------------------------------------------------------------ listeners, faults, capacity

    @Override
    public void addStreamStateListener(StreamStateListener listener) {
        dispatcher.add(listener);
    }

    @Override
    public void removeStreamStateListener(StreamStateListener listener) {
        dispatcher.remove(listener);
    }

    @Override
    public void publish(StreamTransition transition) {
        dispatcher.publish(transition);
    }

    @Override
    public FaultRule injectedFault(StreamId stream, String label, long sequence) {
        return faults == null ? null : faults.match(stream, label, sequence);
    }

    @Override
    public void checkCapacity(Shape shape, DType dtype) {
        long elements = shape.size();
        long max = capabilities.maxArrayBytes();
        if (elements > max / dtype.byteSize()) {
            throw new IllegalArgumentException(
                    "an array of shape " + shape + " needs " + elements * (double) dtype.byteSize() / (1L << 20)
                            + " MiB, more than backend '" + id + "' can ever hold (" + max / (1L << 20) + " MiB)");
        }
    }

    // ------------------------------------------------------------------ stop (S11)

    @Override
    public void stop() {
        stop(settings.stopGrace());
    }

    @Override
    public void stop(Duration grace) {
        synchronized (lifecycle) {
            if (state.getAndSet(BackendState.STOPPED) == BackendState.STOPPED) {
                return;
            }
        }
        long deadline = System.nanoTime() + grace.toNanos();
        for (Stream s : List.copyOf(streams.values())) {
            StreamError stopped = s.error(ErrorKind.BACKEND_STOPPED)
                    .message("backend '" + id + "' was stopped while this work was queued or running")
                    .build();
            s.shutdown(stopped, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        }
        DeferredCompletion completing;
        synchronized (lifecycle) {
            completing = deferred;
        }
        try {
            if (completing != null) {
                completing.close(Duration.ofSeconds(5));
            }
            engine.shutdown(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        } finally {
            dispatcher.close();
        }
    }

    @Override
    public String toString() {
        return "Backend[" + id + ", " + state.get() + "]";
    }
}
