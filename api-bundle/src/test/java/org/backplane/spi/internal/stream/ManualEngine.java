package org.backplane.spi.internal.stream;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.backplane.api.Capabilities;
import org.backplane.api.DType;
import org.backplane.api.DeviceInfo;
import org.backplane.api.StreamError;
import org.backplane.api.StreamId;
import org.backplane.spi.ArrayStorage;
import org.backplane.spi.BackendEngine;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.Command;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.EngineArray;
import org.backplane.spi.StreamEngine;
import org.backplane.spi.StreamSink;
import org.backplane.spi.internal.backend.CoreBackend;

/**
 * An engine the test drives by hand: committed batches wait in a queue until the test completes or
 * fails them, from whichever thread it likes, the way a driver's callbacks would.
 */
final class ManualEngine implements BackendEngine {
    final LinkedBlockingQueue<CommandBatch> committed = new LinkedBlockingQueue<>();
    final List<CommandBatch> inFlight = new CopyOnWriteArrayList<>();
    final List<String> calls = new CopyOnWriteArrayList<>();
    final Map<StreamId, StreamSink> sinks = new ConcurrentHashMap<>();
    /** A well-behaved engine fails its unfinished batches when aborted; a buggy one forgets them. */
    volatile boolean forgetsBatchesOnClose;
    /** When set, uploads signal {@code uploading} and wait for {@code releaseUploads} inside the engine. */
    volatile java.util.concurrent.CountDownLatch uploading;

    volatile java.util.concurrent.CountDownLatch releaseUploads;

    /** Float data on the heap. */
    @SuppressWarnings("ArrayRecordComponent") // storage, not a value: never compared
    record Floats(float[] data) implements ArrayStorage {
        @Override
        public long byteSize() {
            return (long) data.length * Float.BYTES;
        }
    }

    static CoreBackend backend(ManualEngine engine, BackendSettings settings) {
        return new CoreBackend(
                "manual",
                new DeviceInfo("manual", "test", 1L << 30, 1, null),
                new Capabilities(Set.of(DType.FLOAT32), 1L << 30, 8, false, "manual"),
                engine,
                settings);
    }

    CommandBatch nextCommitted() throws InterruptedException {
        CommandBatch b = committed.poll(10, TimeUnit.SECONDS);
        if (b == null) {
            throw new AssertionError("no batch was committed");
        }
        return b;
    }

    /** Completes a batch as a driver would: outputs get storage, then the SPI hears of it. */
    void complete(CommandBatch batch) {
        for (Command c : batch.commands()) {
            c.output().bind(new Floats(new float[(int) c.output().size()]));
        }
        sinks.get(batch.stream()).completed(batch);
    }

    @Override
    public StreamEngine openStream(StreamSink sink) {
        sinks.put(sink.id(), sink);
        return new StreamEngine() {
            @Override
            public void encode(CommandBatch batch, Command command) {
                calls.add("encode " + sink.id() + " #" + command.sequence());
            }

            @Override
            public void commit(CommandBatch batch) {
                calls.add("commit " + sink.id() + " " + batch.id());
                inFlight.add(batch);
                committed.add(batch);
            }

            @Override
            public void upload(EngineArray target, MemorySegment source) {
                if (uploading != null) {
                    calls.add("upload begins " + sink.id());
                    uploading.countDown();
                    try {
                        releaseUploads.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    calls.add("upload ends " + sink.id());
                }
                float[] data = new float[(int) target.size()];
                MemorySegment.copy(source, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, data, 0, data.length);
                target.bind(new Floats(data));
            }

            @Override
            public void download(EngineArray source, MemorySegment target) {
                float[] data = source.storage(Floats.class).data();
                MemorySegment.copy(data, 0, target, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, data.length);
            }

            @Override
            public void rebuild(Duration timeout) {
                calls.add("rebuild " + sink.id());
            }

            @Override
            public void close(Duration timeout, StreamError abortError) {
                calls.add("close " + sink.id());
                if (abortError != null && !forgetsBatchesOnClose) {
                    for (CommandBatch b : inFlight) {
                        if (b.stream().equals(sink.id()) && !b.isFinished()) {
                            sink.failed(b, abortError);
                        }
                    }
                }
            }
        };
    }

    @Override
    public void shutdown(Duration timeout) {
        calls.add("shutdown");
    }
}
