package org.backplane.isolation.internal.wire;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One message being written: a type byte and its fields, in a growable buffer. Sent whole, with its
 * length in front, by {@link Connection#send}. Not thread-safe: one frame is filled by one thread.
 */
public final class Frame {
    private byte[] buf = new byte[128];
    private int pos = Integer.BYTES; // room for the length

    public Frame(Message type) {
        putEnum(type);
    }

    /**
     * An enum constant by its position: both sides run the same jars, so the positions agree, and a
     * byte is all a batch's hot path can afford.
     */
    @SuppressWarnings("EnumOrdinal")
    public Frame putEnum(Enum<?> v) {
        return putByte((byte) v.ordinal());
    }

    private void room(int n) {
        if (pos + n > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + n));
        }
    }

    public Frame putByte(byte v) {
        room(1);
        buf[pos++] = v;
        return this;
    }

    public Frame putBoolean(boolean v) {
        return putByte((byte) (v ? 1 : 0));
    }

    public Frame putInt(int v) {
        room(4);
        for (int i = 3; i >= 0; i--) {
            buf[pos++] = (byte) (v >>> (i * 8));
        }
        return this;
    }

    public Frame putLong(long v) {
        room(8);
        for (int i = 7; i >= 0; i--) {
            buf[pos++] = (byte) (v >>> (i * 8));
        }
        return this;
    }

    public Frame putDouble(double v) {
        return putLong(Double.doubleToRawLongBits(v));
    }

    public Frame putFloat(float v) {
        return putInt(Float.floatToRawIntBits(v));
    }

    /** A string, or null. */
    public Frame putString(String s) {
        if (s == null) {
            return putInt(-1);
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        putInt(b.length);
        room(b.length);
        System.arraycopy(b, 0, buf, pos, b.length);
        pos += b.length;
        return this;
    }

    /** The frame as it goes on the wire: its length, then its bytes. */
    ByteBuffer toBuffer() {
        int length = pos - Integer.BYTES;
        for (int i = 0; i < 4; i++) {
            buf[i] = (byte) (length >>> ((3 - i) * 8));
        }
        return ByteBuffer.wrap(buf, 0, pos);
    }
}
