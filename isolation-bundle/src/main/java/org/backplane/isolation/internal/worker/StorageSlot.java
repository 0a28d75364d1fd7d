package org.backplane.isolation.internal.worker;

import org.backplane.spi.ArrayStorage;

/**
 * The worker's place for one array's storage, named by the host's storage number. Arrays of queued
 * ops hold the slot itself, so the storage stays theirs even after the host released the number.
 */
final class StorageSlot {
    final long id;
    private volatile ArrayStorage storage;

    StorageSlot(long id) {
        this.id = id;
    }

    ArrayStorage storage() {
        return storage;
    }

    void bind(ArrayStorage s) {
        storage = s;
    }
}
