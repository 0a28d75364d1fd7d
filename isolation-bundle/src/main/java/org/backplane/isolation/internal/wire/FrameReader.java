package org.backplane.isolation.internal.wire;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** One message received: its type and its fields, read in the order they were written. */
public final class FrameReader {
    private final ByteBuffer in;
    private final Message type;

    FrameReader(ByteBuffer in) {
        this.in = in;
        this.type = getEnum(Message.values());
    }

    public Message type() {
        return type;
    }

    public byte getByte() {
        return guarded(in::get);
    }

    /** An enum constant written by {@link Frame#putEnum}; {@code values} is its type's {@code values()}. */
    public <E extends Enum<E>> E getEnum(E[] values) {
        int i = getByte();
        if (i < 0 || i >= values.length) {
            throw new WireException("no constant " + i + " in "
                    + values.getClass().getComponentType().getName());
        }
        return values[i];
    }

    public boolean getBoolean() {
        return getByte() != 0;
    }

    public int getInt() {
        return guarded(in::getInt);
    }

    public long getLong() {
        return guarded(in::getLong);
    }

    public double getDouble() {
        return guarded(in::getDouble);
    }

    public float getFloat() {
        return guarded(in::getFloat);
    }

    public String getString() {
        int n = getInt();
        if (n < 0) {
            return null;
        }
        if (n > in.remaining()) {
            throw new WireException("string of " + n + " bytes in a message with " + in.remaining() + " left");
        }
        byte[] b = new byte[n];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private interface Read<T> {
        T get();
    }

    private <T> T guarded(Read<T> read) {
        try {
            return read.get();
        } catch (BufferUnderflowException e) {
            throw new WireException("message " + type + " ended early", e);
        }
    }
}
