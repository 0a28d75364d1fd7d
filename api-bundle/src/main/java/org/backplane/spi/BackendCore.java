package org.backplane.spi;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.backplane.api.BackendState;
import org.backplane.api.BackendStoppedException;
import org.backplane.api.Capabilities;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceInfo;
import org.backplane.api.DeviceLostException;
import org.backplane.api.ErrorKind;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.Shape;
import org.backplane.api.StreamError;
import org.backplane.api.StreamId;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.StreamState;
import org.backplane.api.StreamStateListener;
import org.backplane.api.StreamTransition;
import org.backplane.api.fault.FaultInjector;

/**
 * A backend as the SPI implements it: its streams, listeners, fault injection, device loss (S9)
 * and safe stop (S11). A backend component creates one with its {@link BackendEngine}, serves it as
 * its {@link ExecutionBackend}, and calls {@link #stop()} when it is deactivated.
 */
public final class BackendCore implements ExecutionBackend, SpiBackend {
    private static final System.Logger LOG = System.getLogger(BackendCore.class.getName());

    private final String id;
    private final DeviceInfo device;
    private final Capabilities capabilities;
    private final BackendEngine engine;
    private final BackendSettings settings;
    private final FaultPlan faults;
    private final TransitionDispatcher dispatcher;
    private final ConcurrentHashMap<Long, StreamCore> streams = new ConcurrentHashMap<>();
    private final AtomicLong streamNumbers = new AtomicLong();
    private final Object lifecycle = new Object();
    private volatile BackendState state = BackendState.RUNNING;
    private volatile StreamError deviceLoss;
    private volatile ResultChecker resultChecker;
    private volatile DeferredCompletion deferred; // started on first need, joined at stop

    /**
     * @param id the {@code backend.id}
     * @param device what it runs on
     * @param capabilities what it supports ({@code faultInjection} is taken from the settings)
     * @param engine the device-level native side
     * @param settings batching, timeouts and fault injection
     */
    public BackendCore(String id, DeviceInfo device, Capabilities capabilities, BackendEngine engine, BackendSettings settings) {
        this.id = Objects.requireNonNull(id, "id");
        this.device = Objects.requireNonNull(device, "device");
        this.engine = Objects.requireNonNull(engine, "engine");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.capabilities = new Capabilities(capabilities.dtypes(), capabilities.maxArrayBytes(), capabilities.maxRank(),
                settings.faultInjection(), capabilities.kernels());
        this.faults = settings.faultInjection() ? new FaultPlan(this, settings.faultRules()) : null;
        this.dispatcher = new TransitionDispatcher("backplane-" + id);
        if (faults != null) {
            LOG.log(System.Logger.Level.WARNING, () -> "Backplane backend '" + id + "' has FAULT INJECTION ENABLED with rules "
                    + settings.faultRules() + "; never use this in production");
        }
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public BackendCore backendCore() {
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
        return state;
    }

    public BackendSettings settings() {
        return settings;
    }

    boolean isStopped() {
        return state == BackendState.STOPPED;
    }

    /** The error that lost the device, while the backend is in {@link BackendState#DEVICE_LOST}. */
    public Optional<StreamError> deviceLoss() {
        return Optional.ofNullable(deviceLoss);
    }

    @Override
    public ComputeStream openStream(String label) {
        Objects.requireNonNull(label, "label must not be null");
        synchronized (lifecycle) {
            recoverDeviceIfLost();
            StreamCore stream = new StreamCore(this, new StreamId(id, streamNumbers.incrementAndGet()), label,
                    settings.batching(), faults);
            stream.attach(engine.openStream(stream));
            streams.put(stream.id().number(), stream);
            publish(StreamTransition.Type.OPENED, StreamState.ACTIVE, stream, null);
            return stream;
        }
    }

    @Override
    public List<StreamSnapshot> streams() {
        List<StreamSnapshot> out = new ArrayList<>();
        for (StreamCore s : streams.values()) {
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
        StreamCore s = streams.get(streamId.number());
        return s == null ? Optional.empty() : Optional.of(s.snapshot());
    }

    StreamCore requireStream(StreamId streamId) {
        Objects.requireNonNull(streamId, "stream id must not be null");
        StreamCore s = streamId.backendId().equals(id) ? streams.get(streamId.number()) : null;
        if (s == null) {
            throw new IllegalArgumentException("backend '" + id + "' has no open stream " + streamId);
        }
        return s;
    }

    @Override
    public StreamSnapshot reset(StreamId streamId) {
        StreamCore s = requireStream(streamId);
        recoverDeviceIfLost();
        return s.reset(settings.resetTimeout());
    }

    @Override
    public int resetAll() {
        recoverDeviceIfLost();
        int n = 0;
        for (StreamCore s : streams.values()) {
            if (!s.snapshot().isHealthy() && s.snapshot().state() != StreamState.CLOSED) {
                s.reset(settings.resetTimeout());
                n++;
            }
        }
        return n;
    }

    private void recoverDeviceIfLost() {
        synchronized (lifecycle) {
            if (state == BackendState.STOPPED) {
                throw new BackendStoppedException(id);
            }
            if (state != BackendState.DEVICE_LOST) {
                return;
            }
            if (!engine.canRebuildDevice()) {
                throw new DeviceLostException(id, deviceLoss, engine.deviceLossAdvice());
            }
            engine.rebuildDevice();
            state = BackendState.RUNNING;
            deviceLoss = null;
            LOG.log(System.Logger.Level.INFO, () -> "backend '" + id + "' rebuilt its device after device loss");
        }
    }

    /**
     * The device context is gone (S9): every stream is poisoned with a {@link ErrorKind#DEVICE_LOST}
     * error naming the cause, and the backend enters {@link BackendState#DEVICE_LOST}. The engine
     * captures the original error on the stream that hit it first. Any thread; never throws.
     */
    public void deviceLost(StreamError cause) {
        try {
            if (state != BackendState.RUNNING) {
                return;
            }
            deviceLoss = cause;
            state = BackendState.DEVICE_LOST;
            LOG.log(System.Logger.Level.ERROR, () -> "backend '" + id + "' lost its device: " + cause.describe());
            for (StreamCore s : streams.values()) {
                StreamError e = s.error(ErrorKind.DEVICE_LOST).nativeCode(cause.nativeCode()).nativeText(cause.nativeText())
                        .message("the " + id + " device was lost: every stream on it is poisoned").upstream(cause).build();
                s.raise(e);
                publish(StreamTransition.Type.DEVICE_LOST, s.snapshot().state(), s, cause);
            }
        } catch (Throwable t) {
            try {
                LOG.log(System.Logger.Level.ERROR, "failure while handling device loss", t);
            } catch (Throwable ignored) {
                // never let this reach a driver thread
            }
        }
    }

    /**
     * Installs result checking on this backend (null removes it): sampled ops are checked before
     * their results are released; see {@link ResultChecker}.
     */
    public void resultChecker(ResultChecker checker) {
        if (checker != null) {
            deferredCompletion();
        }
        resultChecker = checker;
    }

    /** The installed result checker, or null. */
    public ResultChecker resultChecker() {
        return resultChecker;
    }

    /** The deferred-completion thread, started on first need; null once the backend stopped. */
    DeferredCompletion deferredCompletion() {
        DeferredCompletion d = deferred;
        if (d != null) {
            return d;
        }
        synchronized (lifecycle) {
            if (deferred == null && state != BackendState.STOPPED) {
                deferred = new DeferredCompletion(this);
            }
            return deferred;
        }
    }

    /** Lets the deferred-completion thread look again after a batch settled. Never blocks. */
    void settled() {
        DeferredCompletion d = deferred;
        if (d != null) {
            d.wake();
        }
    }

    @Override
    public void addStreamStateListener(StreamStateListener listener) {
        dispatcher.add(listener);
    }

    @Override
    public void removeStreamStateListener(StreamStateListener listener) {
        dispatcher.remove(listener);
    }

    @Override
    public Optional<FaultInjector> faultInjector() {
        return Optional.ofNullable(faults);
    }

    /**
     * Rejects arrays larger than this backend could ever hold, on the caller's thread.
     *
     * @throws IllegalArgumentException naming the shape, its size and the limit
     */
    void checkCapacity(Shape shape) {
        long elements = shape.size();
        long max = capabilities.maxArrayBytes();
        if (elements > max / Float.BYTES) {
            throw new IllegalArgumentException("an array of shape " + shape + " needs " + elements * (double) Float.BYTES / (1L << 20)
                    + " MiB, more than backend '" + id + "' can ever hold (" + max / (1L << 20) + " MiB)");
        }
    }

    void unregister(StreamCore stream) {
        streams.remove(stream.id().number(), stream);
    }

    void publish(StreamTransition.Type type, StreamState from, StreamCore stream, StreamError error) {
        try {
            dispatcher.publish(new StreamTransition(type, from, stream.snapshot(), error, Instant.now()));
        } catch (Throwable t) {
            try {
                LOG.log(System.Logger.Level.ERROR, "could not publish a stream transition", t);
            } catch (Throwable ignored) {
                // never let this reach a driver thread
            }
        }
    }

    /** Stops with the configured grace period; see {@link #stop(Duration)}. */
    public void stop() {
        stop(settings.stopGrace());
    }

    /**
     * Stops the backend safely (S11): refuses new work, stops running work within {@code grace} and
     * fails the rest with {@link ErrorKind#BACKEND_STOPPED} (waiters are released), closes every
     * stream and joins its threads, then lets the engine release device resources, and finally
     * stops listener delivery. Idempotent.
     */
    public void stop(Duration grace) {
        synchronized (lifecycle) {
            if (state == BackendState.STOPPED) {
                return;
            }
            state = BackendState.STOPPED;
        }
        long deadline = System.nanoTime() + grace.toNanos();
        for (StreamCore s : List.copyOf(streams.values())) {
            StreamError stopped = s.error(ErrorKind.BACKEND_STOPPED)
                    .message("backend '" + id + "' was stopped while this work was queued or running").build();
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
}
