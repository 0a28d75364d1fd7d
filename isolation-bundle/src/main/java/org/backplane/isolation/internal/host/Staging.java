package org.backplane.isolation.internal.host;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.backplane.isolation.internal.wire.StagingFiles;

/**
 * A stream's shared memory for host copies: a file in the private directory that the host and the
 * worker both map (through FFM), so that array data never goes through the socket. It grows to the
 * largest copy seen, up to {@link StagingFiles#KEPT}; a larger copy gets a file of its own that is
 * dropped after it (the worker follows the same rule). One copy at a time: callers hold {@link #lock}.
 */
final class Staging implements AutoCloseable {
    private static final long KEPT = StagingFiles.KEPT;

    private static final long MIN = 1L << 20;

    final Object lock = new Object();
    private final PrivateDirectory directory;
    private final String prefix;
    private int files;
    private Path path;
    private Arena arena;
    private MemorySegment segment;
    private boolean closed;

    Staging(PrivateDirectory directory, String prefix) {
        this.directory = directory;
        this.prefix = prefix;
    }

    /** Memory for a copy of {@code bytes}; maps a new file when the current one is too small. */
    @SuppressWarnings("MustBeClosedChecker") // the arena lives until the next reserve or close, which close it
    MemorySegment reserve(long bytes) {
        if (segment != null && segment.byteSize() >= bytes) {
            return segment;
        }
        drop();
        long size = bytes > KEPT ? bytes : Math.max(MIN, Long.highestOneBit(Math.max(1, bytes - 1)) << 1);
        Path p = directory.resolve(prefix + "-" + ++files + ".shm");
        Arena a = Arena.ofShared();
        try {
            segment = StagingFiles.create(p, size, a);
        } catch (IOException e) {
            a.close();
            throw new UncheckedIOException("cannot map staging memory of " + size + " bytes in " + p, e);
        }
        path = p;
        arena = a;
        return segment;
    }

    Path path() {
        return path;
    }

    long size() {
        return segment.byteSize();
    }

    /** After a copy: a file larger than {@link #KEPT}, or any file once the stream closed, is not kept. */
    void done() {
        if (segment != null && (closed || segment.byteSize() > KEPT)) {
            drop();
        }
    }

    private void drop() {
        if (arena != null) {
            arena.close();
            arena = null;
            segment = null;
            try {
                Files.deleteIfExists(path);
            } catch (IOException e) {
                // the private directory goes at stop
            }
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            closed = true; // an array of the closed stream may still be read: through a file dropped after it
            drop();
        }
    }
}
