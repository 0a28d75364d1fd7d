package org.backplane.itests;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.backplane.api.StreamStateListener;
import org.backplane.api.StreamTransition;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventHandler;

/** A whiteboard stream listener and an EventAdmin handler in one, recording what they are told. */
final class Recorder implements StreamStateListener, EventHandler {
    final List<StreamTransition> transitions = new CopyOnWriteArrayList<>();
    final List<Event> events = new CopyOnWriteArrayList<>();

    @Override
    public void onTransition(StreamTransition transition) {
        transitions.add(transition);
    }

    @Override
    public void handleEvent(Event event) {
        events.add(event);
    }

    StreamTransition awaitTransition(Predicate<StreamTransition> p) throws InterruptedException {
        return await(transitions, p, "transition");
    }

    Event awaitEvent(Predicate<Event> p) throws InterruptedException {
        return await(events, p, "event");
    }

    private static <T> T await(List<T> seen, Predicate<T> p, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            for (T t : seen) {
                if (p.test(t)) {
                    return t;
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no matching " + what + " within 20 s; seen " + seen);
    }
}
