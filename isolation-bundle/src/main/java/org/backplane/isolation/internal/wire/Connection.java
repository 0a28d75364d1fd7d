package org.backplane.isolation.internal.wire;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A Unix-domain socket carrying length-prefixed frames. Any thread may send (one frame at a time
 * goes out whole); one thread receives.
 */
public final class Connection implements AutoCloseable {
    /** No message is this large: batches carry op descriptions, never array data. */
    private static final int MAX_FRAME = 64 << 20;

    private final SocketChannel channel;
    private final ReentrantLock sending = new ReentrantLock();
    private final ByteBuffer header = ByteBuffer.allocate(Integer.BYTES);

    public Connection(SocketChannel channel) {
        this.channel = channel;
    }

    /** Sends a frame whole. */
    public void send(Frame frame) throws IOException {
        ByteBuffer b = frame.toBuffer();
        sending.lock();
        try {
            while (b.hasRemaining()) {
                channel.write(b);
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
            if (channel.read(b) < 0) {
                throw new EOFException("the peer closed the connection");
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
    }
}
