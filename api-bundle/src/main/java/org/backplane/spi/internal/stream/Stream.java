package org.backplane.spi.internal.stream;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import org.backplane.api.ComputeStream;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.StreamId;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.StreamState;
import org.backplane.api.StreamTransition;
import org.backplane.api.fault.Hold;
import org.backplane.spi.ErrorBuilder;
import org.backplane.spi.StreamEngine;
import org.backplane.spi.StreamSink;

/**
 * One stream as the SPI implements it, assembled from parts that each own some rules of the
 * contract: the {@link StreamSlot} (S1–S4), the {@link Batcher} (batching, back-pressure, S4 at
 * commit), {@link Completion} and {@link CrossStreamInputs} (S6, result checking), the
 * {@link Lifecycle} (S7, close, S11). Hosts hold its {@link StreamImpl} façade; its engine holds
 * its {@link SinkImpl}; neither sees the other.
 */
public final class Stream implements Transitions {
    private static final System.Logger LOG = System.getLogger(Stream.class.getName());

    final BackendContext backend;
    final StreamId id;
    final String label;
    private final Instant createdAt = Instant.now();
    final StreamSlot slot;
    final StreamCounters counters = new StreamCounters();
    final CrossStreamInputs inputs;
    final Completion completion;
    final Batcher batcher;
    final Lifecycle lifecycle;
    final SinkImpl sink;
    /** Its share of the backend's memory (S12). */
    final MemoryBudget.Account memory;

    private volatile StreamEngine engine;

    /**
     * @param memoryQuota what the stream's arrays may hold, in bytes; 0 for the backend's stream quota
     */
    public Stream(BackendContext backend, StreamId id, String label, long memoryQuota) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.id = id;
        this.label = label;
        this.slot = new StreamSlot(id, label, backend, this);
        this.inputs = new CrossStreamInputs(this);
        this.completion = new Completion(slot, counters, backend, inputs);
        this.batcher = new Batcher(this, slot, completion, counters, backend);
        this.lifecycle = new Lifecycle(this, slot, batcher, completion, this);
        this.sink = new SinkImpl(this);
        this.memory = backend.memory().open(id, label, memoryQuota);
    }

    /** Connects the engine, which was opened with {@link #sink()}; once, before the stream is published. */
    public void attach(StreamEngine streamEngine) {
        this.engine = Objects.requireNonNull(streamEngine, "engine");
    }

    StreamEngine engine() {
        return engine;
    }

    public StreamId id() {
        return id;
    }

    public String label() {
        return label;
    }

    /** What the engine reports through. */
    public StreamSink sink() {
        return sink;
    }

    /**
     * What hosts hold: made once, when the stream is opened. The stream does not keep it: once
     * neither it nor any array of the stream is reachable, the backend sees the stream as leaked.
     */
    public ComputeStream newFacade() {
        return new StreamImpl(this);
    }

    public StreamSnapshot snapshot() {
        Generation g = slot.current();
        return new StreamSnapshot(
                id,
                label,
                Generation.publicState(g.state),
                g.number,
                g.first,
                g.suppressedCount.get(),
                g.suppressedErrors(),
                counters.submitted.get(),
                counters.completed.get(),
                counters.failed.get(),
                backend.memory().used(memory),
                memory.quota,
                backend.memory().reserve(memory),
                createdAt,
                g.stateSince);
    }

    /** Resets the stream (S7); a healthy stream is left alone. Returns its snapshot afterwards. */
    public StreamSnapshot reset(Duration timeout) {
        lifecycle.reset(timeout);
        return snapshot();
    }

    /** Closes the stream; see {@link Lifecycle#shutdown}. Returns the error the close must report, or null. */
    public StreamError shutdown(StreamError abortError, Duration timeout) {
        return lifecycle.shutdown(abortError, timeout);
    }

    /** Captures an error from outside the engine (fault injection, device loss) into the current generation. Never throws. */
    public boolean raise(StreamError error) {
        return slot.raise(error);
    }

    public ErrorBuilder error(ErrorKind kind) {
        return slot.error(kind);
    }

    /** See {@link org.backplane.api.fault.FaultInjector#hold}. */
    public Hold hold() {
        return batcher.hold();
    }

    /** An array was closed by its owner: the engine may free its storage now. */
    void release(ArrayImpl a) {
        backend.memory().release(a);
        try {
            engine.release(a);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "engine failed to release an array of " + id, e);
        }
    }

    /** The lifecycle closed the stream. */
    void closed() {
        backend.memory().closed(memory);
        backend.closed(this);
    }

    @Override
    public void publish(StreamTransition.Type type, StreamState from, StreamError error) {
        try {
            backend.publish(new StreamTransition(type, from, snapshot(), error, Instant.now()));
        } catch (Throwable t) {
            StreamSlot.safeLog(t);
        }
    }
}
