package org.backplane.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Told about every stream transition (S8). Register it as a whiteboard service to hear about all
 * streams of all backends (through the poison-state service), or directly with
 * {@link ExecutionBackend#addStreamStateListener}.
 *
 * <p>Calls arrive asynchronously on a thread Backplane owns, in order for each listener. A
 * listener that throws or blocks never affects a stream or other listeners; a listener that
 * blocks only delays its own later notifications.
 */
@ConsumerType
@FunctionalInterface
public interface StreamStateListener {
    void onTransition(StreamTransition transition);
}
