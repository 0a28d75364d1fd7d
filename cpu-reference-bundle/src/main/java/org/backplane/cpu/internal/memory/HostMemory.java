package org.backplane.cpu.internal.memory;

import java.lang.foreign.MemorySegment;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;
import org.backplane.api.DType;
import org.backplane.spi.device.NativeReaper;

/**
 * The CPU backend's array memory: native, off the Java heap, so that what the memory budget (S12)
 * governs is what is really there — no collector headroom, humongous regions or garbage not yet
 * collected stand between a healthy stream and its reserve, and the heap stays free for the host and
 * for the kernels' own temporaries. Arrays' blocks count against a capacity (the backend's "device"
 * size); freed blocks are kept in a pool by size class for the next array of that size, so that a
 * warm stream allocates nothing, and given back to the system when a new block would not fit beside
 * them. One per backend instance; {@link #close} at stop frees everything.
 */
public final class HostMemory implements AutoCloseable {
    /** Blocks larger than this are given back at once rather than pooled. */
    private static final long LARGEST_POOLED = 32L << 20;

    private final long capacity;
    private final long poolLimit;
    private final SystemMemory system = new SystemMemory();
    private final Map<Long, ConcurrentLinkedDeque<Block>> free = new ConcurrentHashMap<>();
    private final NativeReaper<Block> reaper = new NativeReaper<>();
    /** Bytes of arrays' blocks, in use or pooled: what counts against the capacity. */
    private final AtomicLong committed = new AtomicLong();
    /** Bytes of blocks in the pool. */
    private final AtomicLong pooled = new AtomicLong();
    /** Bytes of scratch blocks handed out now (transient, not against the capacity). */
    private final AtomicLong scratch = new AtomicLong();

    private volatile boolean closed;

    /** @param capacity what arrays may hold in all, in bytes */
    public HostMemory(long capacity) {
        this.capacity = capacity;
        this.poolLimit = Math.min(capacity / 8, 1L << 30);
    }

    /**
     * Storage for {@code elements} of {@code dtype}: its contents are undefined (kernels write every
     * element of their output).
     *
     * @throws HostMemoryExhausted if the capacity cannot hold it, even after the pool was emptied
     */
    public NativeBuffer allocate(DType dtype, long elements) {
        long bytes = elements * dtype.byteSize();
        if (bytes == 0) {
            return new NativeBuffer(dtype, 0, null, MemorySegment.NULL.reinterpret(0), null);
        }
        Block b = take(SizeClasses.of(bytes));
        return new NativeBuffer(dtype, elements, b, b.segment.asSlice(0, bytes), reaper);
    }

    /** Scratch memory for one op's temporaries, given back by {@link Scratch#close}; beyond the capacity. */
    public Scratch scratch(long bytes) {
        long size = SizeClasses.of(Math.max(1, bytes));
        Block b = pop(size);
        if (b == null) {
            b = system.allocate(size);
        } else {
            committed.addAndGet(-size); // it leaves the arrays' share
        }
        scratch.addAndGet(size);
        return new Scratch(this, b, bytes);
    }

    void returnScratch(Block b) {
        scratch.addAndGet(-b.size);
        if (!closed && b.size <= LARGEST_POOLED && pooled.get() + b.size <= poolLimit) {
            committed.addAndGet(b.size);
            push(b);
        } else {
            b.free();
        }
    }

    private Block take(long size) {
        drain();
        Block b = pop(size);
        if (b != null) {
            return b; // it stays committed: from the pool to an array
        }
        if (!reserve(size)) {
            trim(size);
            if (!reserve(size)) {
                // what the host dropped without closing may not have been collected yet
                reaper.reclaim(this::release);
                b = pop(size);
                if (b != null) {
                    return b;
                }
                trim(size);
                if (!reserve(size)) {
                    throw new HostMemoryExhausted(String.format(
                            Locale.ROOT,
                            "the CPU backend's array memory is exhausted: its arrays hold %.1f of its %.1f MiB "
                                    + "and this needs %.1f MiB",
                            (committed.get() - pooled.get()) / (double) (1 << 20),
                            capacity / (double) (1 << 20),
                            size / (double) (1 << 20)));
                }
            }
        }
        try {
            return system.allocate(size);
        } catch (OutOfMemoryError e) {
            committed.addAndGet(-size);
            throw new HostMemoryExhausted("the system refused " + size + " bytes of native memory: " + e.getMessage());
        }
    }

    /** Counts {@code size} more bytes against the capacity, if they fit. */
    private boolean reserve(long size) {
        for (; ; ) {
            long c = committed.get();
            if (c + size > capacity) {
                return false;
            }
            if (committed.compareAndSet(c, c + size)) {
                return true;
            }
        }
    }

    private Block pop(long size) {
        ConcurrentLinkedDeque<Block> q = free.get(size);
        Block b = q == null ? null : q.pollFirst();
        if (b != null) {
            pooled.addAndGet(-size);
        }
        return b;
    }

    private void push(Block b) {
        free.computeIfAbsent(b.size, k -> new ConcurrentLinkedDeque<>()).addFirst(b);
        pooled.addAndGet(b.size);
    }

    /** Gives pooled blocks back to the system until {@code needed} more bytes would fit (or the pool is empty). */
    private void trim(long needed) {
        for (ConcurrentLinkedDeque<Block> q : free.values()) {
            Block b;
            while (committed.get() + needed > capacity && (b = q.pollLast()) != null) {
                pooled.addAndGet(-b.size);
                committed.addAndGet(-b.size);
                b.free();
            }
        }
    }

    /** An array's block, no longer used: back to the pool, or to the system. */
    private void release(Block b) {
        if (!closed && b.size <= LARGEST_POOLED && pooled.get() + b.size <= poolLimit) {
            push(b);
        } else {
            committed.addAndGet(-b.size);
            b.free();
        }
    }

    /** Takes back the blocks of arrays that were released or that nobody reaches any more. */
    public void drain() {
        reaper.drain(this::release);
    }

    /** Bytes of arrays' blocks in use (not pooled). */
    public long inUse() {
        return committed.get() - pooled.get();
    }

    /** Bytes kept in the pool for reuse. */
    public long pooled() {
        return pooled.get();
    }

    public long capacity() {
        return capacity;
    }

    /** Where blocks come from, for the backend's device details. */
    public String description() {
        return "native, off the Java heap (" + system.description() + "), " + capacity / (1 << 20) + " MiB";
    }

    /** At the backend's stop, after every stream closed: every block goes back to the system. */
    @Override
    public void close() {
        closed = true;
        drain();
        for (ConcurrentLinkedDeque<Block> q : free.values()) {
            Block b;
            while ((b = q.pollFirst()) != null) {
                pooled.addAndGet(-b.size);
                committed.addAndGet(-b.size);
                b.free();
            }
        }
    }
}
