package org.backplane.isolation.internal.wire;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The staging files through which array data crosses between host and worker, as both sides map
 * them: what size stays mapped between copies (one rule for both), and mapping that a thread's
 * interrupt cannot break. A {@link FileChannel} is closed by an interrupt of the thread inside it;
 * the threads that copy are the host's callers, so an interrupted caller's copy maps again rather
 * than fail (its interrupt status is kept for the caller).
 */
public final class StagingFiles {
    /** Staging up to this size stays mapped for the next copy; a larger one is dropped after its copy. */
    public static final long KEPT = 64L << 20;

    private StagingFiles() {}

    /** Creates a file of {@code size} bytes (sized, not written: pages come on first touch) and maps it into {@code arena}. */
    public static MemorySegment create(Path path, long size, Arena arena) throws IOException {
        return uninterruptibly(() -> {
            Files.deleteIfExists(path); // left by an attempt an interrupt broke
            try (FileChannel channel = FileChannel.open(
                    path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                channel.write(ByteBuffer.allocate(1), size - 1);
                return channel.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            }
        });
    }

    /** Maps the first {@code size} bytes of the peer's file into {@code arena}. */
    public static MemorySegment open(Path path, long size, Arena arena) throws IOException {
        return uninterruptibly(() -> {
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                return channel.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            }
        });
    }

    private interface Mapping {
        MemorySegment map() throws IOException;
    }

    private static MemorySegment uninterruptibly(Mapping mapping) throws IOException {
        boolean interrupted = Thread.interrupted();
        try {
            for (; ; ) {
                try {
                    return mapping.map();
                } catch (ClosedByInterruptException e) {
                    interrupted = true;
                    Thread.interrupted(); // interrupted again meanwhile: map once more
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
