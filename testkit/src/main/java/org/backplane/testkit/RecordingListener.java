package org.backplane.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.backplane.api.StreamId;
import org.backplane.api.StreamStateListener;
import org.backplane.api.StreamTransition;

/** Records every transition it is told about, with helpers to wait for the ones a test expects. */
public final class RecordingListener implements StreamStateListener {
    private final List<StreamTransition> seen = new CopyOnWriteArrayList<>();

    @Override
    public void onTransition(StreamTransition transition) {
        seen.add(transition);
        synchronized (this) {
            notifyAll();
        }
    }

    public List<StreamTransition> all() {
        return List.copyOf(seen);
    }

    /** The types seen for one stream, in delivery order. */
    public List<StreamTransition.Type> types(StreamId stream) {
        List<StreamTransition.Type> out = new ArrayList<>();
        for (StreamTransition t : seen) {
            if (t.stream().equals(stream)) {
                out.add(t.type());
            }
        }
        return out;
    }

    public long count(StreamId stream, StreamTransition.Type type) {
        return seen.stream()
                .filter(t -> t.stream().equals(stream) && t.type() == type)
                .count();
    }

    /**
     * Waits until a transition matching {@code condition} was seen and returns it.
     *
     * @throws AssertionError if none arrives within {@code timeout} (a hang guard, not a speed test)
     */
    public StreamTransition await(Predicate<StreamTransition> condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            for (; ; ) {
                for (StreamTransition t : seen) {
                    if (condition.test(t)) {
                        return t;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("no matching transition within " + timeout + "; seen: " + seen);
                }
                wait(Math.max(1, left / 1_000_000));
            }
        }
    }

    public StreamTransition await(StreamId stream, StreamTransition.Type type) throws InterruptedException {
        return await(t -> t.stream().equals(stream) && t.type() == type, Duration.ofSeconds(30));
    }
}
