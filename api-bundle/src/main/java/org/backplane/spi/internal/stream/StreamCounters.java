package org.backplane.spi.internal.stream;

import java.util.concurrent.atomic.AtomicLong;

/** Ops a stream was given, completed and failed over its whole life (shown in snapshots, S8). */
final class StreamCounters {
    final AtomicLong submitted = new AtomicLong();
    final AtomicLong completed = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
}
