package org.backplane.cpu.internal;

import org.backplane.spi.ArrayStorage;

/** The CPU backend's storage for an array: its float32 values on the Java heap. */
@SuppressWarnings("ArrayRecordComponent") // storage, not a value: never compared
record HostFloats(float[] data) implements ArrayStorage {
    @Override
    public long byteSize() {
        return (long) data.length * Float.BYTES;
    }
}
