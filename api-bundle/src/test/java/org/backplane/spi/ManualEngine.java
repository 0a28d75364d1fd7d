package org.backplane.spi;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.backplane.api.Capabilities;
import org.backplane.api.DType;
import org.backplane.api.DeviceInfo;
import org.backplane.api.StreamError;

/**
 * An engine the test drives by hand: committed batches wait in a queue until the test completes or
 * fails them, from whichever thread it likes, the way a driver's callbacks would.
 */
final class ManualEngine implements BackendEngine {
    final LinkedBlockingQueue<CommandBatch> committed = new LinkedBlockingQueue<>();
    final List<CommandBatch> inFlight = new CopyOnWriteArrayList<>();
    final List<String> calls = new CopyOnWriteArrayList<>();
    /** A well-behaved engine fails its unfinished batches when aborted; a buggy one forgets them. */
    volatile boolean forgetsBatchesOnClose;

    static BackendCore backend(ManualEngine engine, BackendSettings settings) {
        return new BackendCore("manual", new DeviceInfo("manual", "test", 1L << 30, 1, null),
                new Capabilities(Set.of(DType.FLOAT32), 1L << 30, 8, false, "manual"), engine, settings);
    }

    CommandBatch nextCommitted() throws InterruptedException {
        CommandBatch b = committed.poll(10, TimeUnit.SECONDS);
        if (b == null) {
            throw new AssertionError("no batch was committed");
        }
        return b;
    }

    /** Completes a batch as a driver would: outputs get storage, then the SPI hears of it. */
    static void complete(CommandBatch batch) {
        for (Command c : batch.commands()) {
            c.output().storage(new float[(int) c.output().size()]);
        }
        batch.stream().batchCompleted(batch);
    }

    @Override
    public StreamEngine openStream(StreamCore stream) {
        return new StreamEngine() {
            @Override
            public void encode(CommandBatch batch, Command command) {
                calls.add("encode " + stream.id() + " #" + command.sequence());
            }

            @Override
            public void commit(CommandBatch batch) {
                calls.add("commit " + stream.id() + " " + batch.id());
                inFlight.add(batch);
                committed.add(batch);
            }

            @Override
            public void upload(BackplaneArray target, MemorySegment source) {
                float[] data = new float[(int) target.size()];
                MemorySegment.copy(source, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, data, 0, data.length);
                target.storage(data);
            }

            @Override
            public void download(BackplaneArray source, MemorySegment target) {
                float[] data = (float[]) source.storage();
                MemorySegment.copy(data, 0, target, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, data.length);
            }

            @Override
            public void rebuild(Duration timeout) {
                calls.add("rebuild " + stream.id());
            }

            @Override
            public void close(Duration timeout, StreamError abortError) {
                calls.add("close " + stream.id());
                if (abortError != null && !forgetsBatchesOnClose) {
                    for (CommandBatch b : inFlight) {
                        if (b.stream() == stream && !b.isFinished()) {
                            stream.batchFailed(b, abortError);
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
