package org.backplane.isolation.internal.worker;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.locks.ReentrantLock;
import org.backplane.isolation.internal.wire.StagingFiles;

/**
 * A stream's staging file as the worker maps it. A copy holds it from mapping to the end of the
 * copy, and closing it waits for that copy: an arena closed under a copy would fail the copy ("Already
 * closed") and leave its thread interrupted. Once closed, a copy (an array of the closed stream still
 * being read) maps the file for itself and unmaps it afterwards.
 */
final class StagingMapping {
    private final ReentrantLock lock = new ReentrantLock();
    private String path;
    private Arena arena;
    private MemorySegment segment;
    private boolean closed;

    /** Work on the mapped memory. */
    interface Copy {
        void run(MemorySegment shared) throws IOException;
    }

    /** A mapping for one copy of a stream that is not open here: mapped for it and unmapped after. */
    static StagingMapping forOneCopy() {
        StagingMapping m = new StagingMapping();
        m.closed = true;
        return m;
    }

    /** Runs {@code copy} on the host's file {@code file} of {@code size} bytes, mapped here. */
    void copy(String file, long size, Copy copy) throws IOException {
        lock.lock();
        try {
            MemorySegment shared = map(file, size);
            try {
                copy.run(shared);
            } finally {
                if (closed || size > StagingFiles.KEPT) {
                    unmap();
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Unmaps after the copy in progress, if any; later copies map for themselves. */
    void close() {
        lock.lock();
        try {
            closed = true;
            unmap();
        } finally {
            lock.unlock();
        }
    }

    @SuppressWarnings("MustBeClosedChecker") // the arena lives here until unmap closes it
    private MemorySegment map(String file, long size) throws IOException {
        if (segment != null && path.equals(file) && segment.byteSize() == size) {
            return segment;
        }
        unmap();
        Arena a = Arena.ofShared();
        try {
            segment = StagingFiles.open(Path.of(file), size, a);
        } catch (IOException | RuntimeException e) {
            a.close();
            throw e;
        }
        arena = a;
        path = file;
        return segment;
    }

    private void unmap() {
        if (arena != null) {
            arena.close();
            arena = null;
            segment = null;
            path = null;
        }
    }
}
