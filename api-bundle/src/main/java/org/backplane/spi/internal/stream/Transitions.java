package org.backplane.spi.internal.stream;

import org.backplane.api.StreamError;
import org.backplane.api.StreamState;
import org.backplane.api.StreamTransition;

/** Where a stream's parts announce its transitions (S8); the stream adds its snapshot. Never throws. */
interface Transitions {
    void publish(StreamTransition.Type type, StreamState from, StreamError error);
}
