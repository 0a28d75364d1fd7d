package org.backplane.spi;

/**
 * An engine's memory behind one array (a heap array on the CPU, a device pointer on CUDA, an
 * {@code MTLBuffer} on Metal). The engine binds it to the array with {@link EngineArray#bind} and
 * reads it back with {@link EngineArray#storage(Class)}.
 */
public interface ArrayStorage {
    /** Bytes this storage holds. */
    long byteSize();
}
