package org.backplane.spi.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.backplane.api.StreamId;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.StreamState;
import org.backplane.api.StreamTransition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TransitionDispatcherTest {
    private static StreamTransition transition(long generation) {
        StreamSnapshot snap = new StreamSnapshot(
                new StreamId("t", 1),
                "l",
                StreamState.ACTIVE,
                generation,
                null,
                0,
                null,
                0,
                0,
                0,
                0,
                0,
                Instant.EPOCH,
                Instant.EPOCH);
        return new StreamTransition(StreamTransition.Type.RESET, StreamState.POISONED, snap, null, Instant.now());
    }

    @Test
    void eachListenerGetsEveryTransitionInOrderEvenBesideBrokenListeners() throws Exception {
        TransitionDispatcher d = new TransitionDispatcher("test");
        List<Long> seen = new CopyOnWriteArrayList<>();
        CountDownLatch all = new CountDownLatch(1000);
        CountDownLatch blocker = new CountDownLatch(1);
        d.add(t -> {
            throw new StackOverflowError("listener bug");
        });
        d.add(t -> {
            try {
                blocker.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        d.add(t -> {
            seen.add(t.snapshot().generation());
            all.countDown();
        });
        for (long g = 0; g < 1000; g++) {
            d.publish(transition(g)); // never blocks, whatever the listeners do
        }
        assertThat(all.await(20, TimeUnit.SECONDS)).isTrue();
        for (int i = 0; i < seen.size(); i++) {
            assertThat(seen.get(i)).isEqualTo(i);
        }
        blocker.countDown();
        d.close();
    }

    @Test
    void aBlockedListenersMailboxIsBoundedAndPublishingNeverWaits() {
        TransitionDispatcher d = new TransitionDispatcher("bounded");
        CountDownLatch blocker = new CountDownLatch(1);
        d.add(t -> {
            try {
                blocker.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        for (int i = 0; i < TransitionDispatcher.MAILBOX_CAPACITY * 3; i++) {
            d.publish(transition(i));
        }
        assertThat(d.pendingForTest()).isLessThanOrEqualTo(TransitionDispatcher.MAILBOX_CAPACITY);
        blocker.countDown();
        d.close();
    }
}
