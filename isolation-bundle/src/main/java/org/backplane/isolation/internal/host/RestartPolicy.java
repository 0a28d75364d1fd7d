package org.backplane.isolation.internal.host;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Whether a lost worker is replaced: at most {@code limit} losses within {@code window}; one more
 * and the backend stays down (it does not come back by itself: its configuration must change or
 * its bundle restart). Each replacement within the window waits twice as long as the last (from the
 * configured first wait, at most 50 times it), so a worker that dies at once does not spin.
 */
final class RestartPolicy {
    private final Duration firstBackoff;
    private final int limit;
    private final Duration window;
    private final Deque<Instant> recent = new ArrayDeque<>();
    private int losses;
    private String last = "";
    private Instant lastTime;
    private boolean down;

    RestartPolicy(int limit, Duration window, Duration firstBackoff) {
        this.firstBackoff = firstBackoff;
        this.limit = limit;
        this.window = window;
    }

    /** Counts a lost worker; returns true if that puts the backend over its limit (now down). */
    synchronized boolean lost(String reason, Instant when) {
        losses++;
        last = reason;
        lastTime = when;
        recent.addLast(when);
        prune(when);
        if (!down && recent.size() > limit) {
            down = true;
            return true;
        }
        return false;
    }

    private void prune(Instant now) {
        while (!recent.isEmpty() && recent.peekFirst().isBefore(now.minus(window))) {
            recent.removeFirst();
        }
    }

    synchronized boolean isDown() {
        return down;
    }

    /** How long to wait before the next start, from the losses within the window. */
    synchronized Duration backoff(Instant now) {
        prune(now);
        int n = recent.size();
        if (n == 0) {
            return Duration.ZERO;
        }
        long first = firstBackoff.toMillis();
        return Duration.ofMillis(Math.min(first << Math.min(n - 1, 6), first * 50));
    }

    synchronized int losses() {
        return losses;
    }

    synchronized String last() {
        return last;
    }

    synchronized Instant lastTime() {
        return lastTime;
    }

    int limit() {
        return limit;
    }

    Duration window() {
        return window;
    }

    /** Why the backend is down, for errors and the health check. */
    synchronized String downReason() {
        return "its worker process was lost " + recent.size() + " times within " + window.toMinutes()
                + " minutes, more than the restart limit (" + limit + ") allows; the last: " + last;
    }
}
