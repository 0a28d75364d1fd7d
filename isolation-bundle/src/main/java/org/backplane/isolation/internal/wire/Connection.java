package org.backplane.isolation.internal.wire;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A Unix-domain socket carrying length-prefixed frames. Any thread may send (one frame at a time
 * goes out whole); one thread receives.
 *
 * <p>The channel is non-blocking, so that no thread's interrupt can close it: a blocking NIO channel
 * is closed for good when a thread is interrupted inside a read or write on it
 * ({@code ClosedByInterruptException}), and the threads that send here are the host's own callers,
 * which their host may interrupt at any time (a cancelled request), and worker threads that the JDK
 * itself marks interrupted when it closes a shared arena under them. A broken connection loses the
 * worker and every stream on it, so nothing a caller's thread does may break it. Interrupt statuses
 * are left as they were.
 */
public final class Connection implements AutoCloseable {
    /** No message is this large: batches carry op descriptions, never array data. */
    private static final int MAX_FRAME = 64 << 20;

    /** How long a sender waits before it tries again when the socket's buffer is full. */
    private static final long FULL_BUFFER_WAIT_NANOS = TimeUnit.MICROSECONDS.toNanos(50);

    private final SocketChannel channel;
    private final Selector readable;
    private final ReentrantLock sending = new ReentrantLock();
    private final ByteBuffer header = ByteBuffer.allocate(Integer.BYTES);

    public Connection(SocketChannel channel) throws IOException {
        this.channel = channel;
        channel.configureBlocking(false);
        this.readable = Selector.open();
        try {
            channel.register(readable, SelectionKey.OP_READ);
        } catch (IOException | RuntimeException e) {
            readable.close();
            throw e;
        }
    }

    /** Sends a frame whole. */
    public void send(Frame frame) throws IOException {
        ByteBuffer b = frame.toBuffer();
        sending.lock();
        try {
            while (b.hasRemaining()) {
                if (channel.write(b) == 0) {
                    LockSupport.parkNanos(FULL_BUFFER_WAIT_NANOS); // the peer reads slower than we write
                }
            }
        } finally {
            sending.unlock();
        }
    }

    /**
     * Waits for the next frame.
     *
     * @throws EOFException when the peer closed the connection (or died)
     */
    public FrameReader receive() throws IOException {
        header.clear();
        fill(header);
        int length = header.getInt(0);
        if (length <= 0 || length > MAX_FRAME) {
            throw new WireException("frame of " + length + " bytes");
        }
        ByteBuffer body = ByteBuffer.allocate(length);
        fill(body);
        body.flip();
        return new FrameReader(body);
    }

    private void fill(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            int n = channel.read(b);
            if (n < 0) {
                throw new EOFException("the peer closed the connection");
            }
            if (n == 0) {
                awaitReadable();
            }
        }
    }

    /** Waits until there is something to read; an interrupt neither ends the wait nor is lost. */
    private void awaitReadable() throws IOException {
        boolean interrupted = Thread.interrupted();
        try {
            while (readable.select() == 0) {
                interrupted |= Thread.interrupted(); // select returns at once while the status is set
                if (!channel.isOpen()) {
                    throw new AsynchronousCloseException();
                }
            }
            readable.selectedKeys().clear();
        } catch (ClosedSelectorException e) {
            throw new AsynchronousCloseException(); // closed by another thread while this one waited
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // closing: nothing left to tell the peer
        }
        try {
            readable.close();
        } catch (IOException e) {
            // nothing more to release
        }
    }
}
