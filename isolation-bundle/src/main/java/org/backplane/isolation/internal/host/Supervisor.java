package org.backplane.isolation.internal.host;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The heartbeat: asks the worker whether it lives every interval, and kills and ends a worker that
 * has not been heard from within the timeout (a hang: a deadlocked driver, a stopped process). One
 * thread per backend, joined at stop (S11).
 */
final class Supervisor {
    private final Supplier<WorkerSession> current;
    private final Duration interval;
    private final Duration timeout;
    private final Thread thread;
    private volatile boolean stopped;

    Supervisor(String backendId, Supplier<WorkerSession> current, Duration interval, Duration timeout) {
        this.current = current;
        this.interval = interval;
        this.timeout = timeout;
        this.thread = Thread.ofPlatform()
                .daemon()
                .name("backplane-" + backendId + "-supervisor")
                .unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    private void run() {
        while (!stopped) {
            try {
                TimeUnit.MILLISECONDS.sleep(interval.toMillis());
            } catch (InterruptedException e) {
                continue; // stop() interrupts; the loop condition decides
            }
            try {
                WorkerSession s = current.get();
                if (s == null || !s.isAlive()) {
                    continue;
                }
                long silent = s.silentNanos();
                if (silent > timeout.toNanos()) {
                    s.hung(TimeUnit.NANOSECONDS.toMillis(silent));
                } else {
                    s.ping();
                }
            } catch (Throwable t) {
                // the heartbeat never dies of what it met (S13); the next beat tries again
            }
        }
    }

    boolean isAlive() {
        return thread.isAlive();
    }

    void stop() {
        stopped = true;
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
