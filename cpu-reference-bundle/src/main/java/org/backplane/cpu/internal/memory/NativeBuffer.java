package org.backplane.cpu.internal.memory;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.backplane.api.DType;
import org.backplane.spi.ArrayStorage;
import org.backplane.spi.device.NativeReaper;

/**
 * The CPU backend's storage for one array: its elements in native memory, in the dtype's width
 * ({@code short} bits for the half types, a byte of 0 or 1 for {@code bool}). Its block goes back to
 * the pool once: when its array was closed and no queued op or copy uses it any more, or when it
 * becomes unreachable (queued work keeps its arrays reachable, so by then nothing uses it).
 */
public final class NativeBuffer implements ArrayStorage {
    private final DType dtype;
    private final long elements;
    private final MemorySegment segment;
    /** Null for an empty buffer (nothing to give back). */
    private final NativeReaper<Block>.Allocation allocation;
    /** The ops queued on any stream, and copies, that use this buffer now; {@link #CLOSED} once its array was closed. */
    private final AtomicInteger state = new AtomicInteger();

    private static final int CLOSED = 1 << 30;

    /**
     * A form derived from the elements once (a product's packed panels) and kept while the buffer
     * lives: the elements never change after the op that wrote them.
     */
    private final AtomicReference<Derived> derived = new AtomicReference<>();

    private record Derived(Object form, Runnable release) {}

    NativeBuffer(DType dtype, long elements, Block block, MemorySegment segment, NativeReaper<Block> reaper) {
        this.dtype = dtype;
        this.elements = elements;
        this.segment = segment;
        this.allocation = block == null ? null : reaper.track(this, block);
    }

    public DType dtype() {
        return dtype;
    }

    /** Elements held (of the whole storage, which views may share). */
    public long elements() {
        return elements;
    }

    /** The elements, exactly {@code elements * dtype.byteSize()} bytes. */
    public MemorySegment segment() {
        return segment;
    }

    @Override
    public long byteSize() {
        return segment.byteSize();
    }

    /**
     * An op or a copy is going to use the buffer: it stays until {@link #done}. False, and nothing
     * held, if its array was closed already (a use racing the close: it must not read a block that
     * may be another array's by then).
     */
    public boolean use() {
        for (; ; ) {
            int s = state.get();
            if ((s & CLOSED) != 0) {
                return false;
            }
            if (state.compareAndSet(s, s + 1)) {
                return true;
            }
        }
    }

    /** An op or a copy that used the buffer has ended; the buffer goes if its array was closed meanwhile. */
    public void done() {
        if (state.decrementAndGet() == CLOSED) {
            free();
        }
    }

    /** Its array was closed: the buffer goes now, or when the last op or copy using it ends. */
    public void close() {
        if (state.getAndUpdate(s -> s | CLOSED) == 0) {
            free();
        }
    }

    /** The derived form kept, or null. */
    public Object derived() {
        Derived d = derived.get();
        return d == null ? null : d.form();
    }

    /**
     * Keeps {@code form} (and runs {@code release} when the buffer goes) unless another form was kept
     * first; returns the form kept. A caller whose form was not kept releases it itself.
     */
    public Object keepDerived(Object form, Runnable release) {
        Derived kept = derived.compareAndExchange(null, new Derived(form, release));
        return kept == null ? form : kept.form();
    }

    private void free() {
        Derived d = derived.getAndSet(null);
        if (d != null) {
            d.release().run();
        }
        if (allocation != null) {
            allocation.release(); // once, whoever calls it first
        }
    }
}
