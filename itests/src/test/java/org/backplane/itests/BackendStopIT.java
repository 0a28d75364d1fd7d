package org.backplane.itests;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.backplane.api.BackendStoppedException;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.StreamClosedException;
import org.backplane.api.StreamErrorException;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

/**
 * Stopping and restarting the CPU backend bundle while streams are busy (S11): work in flight fails
 * with {@code BACKEND_STOPPED} or completes, nothing hangs, no worker thread is left behind, and the
 * restarted backend works.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class BackendStopIT extends ItestSupport {
    @Configuration
    public Option[] config() {
        return baseOptions();
    }

    @Test
    public void stoppingTheBackendBundleWhileStreamsAreBusyIsSafe() throws Exception {
        Bundle cpuBundle = installedBundle("org.backplane.cpu");
        List<String> threadsBefore = threadsNamed("backplane-cpu-");
        for (int cycle = 0; cycle < 3; cycle++) {
            ExecutionBackend cpu = cpuBackend(b -> true);
            List<Throwable> outcomes = Collections.synchronizedList(new ArrayList<>());
            AtomicLong stoppedWork = new AtomicLong();
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                ComputeStream s = cpu.openStream("busy-" + t);
                workers.add(Thread.ofPlatform().name("itest-busy-" + t).start(() -> {
                    try {
                        DeviceArray x = s.full(0.01f, 256, 256);
                        for (; ; ) {
                            x = s.tanh(s.matmul(x, x));
                            if (Math.random() < 0.1) {
                                s.eval(x);
                            }
                        }
                    } catch (StreamClosedException e) {
                        if (e.error() != null && e.error().kind() == ErrorKind.BACKEND_STOPPED) {
                            stoppedWork.incrementAndGet();
                        }
                        outcomes.add(e);
                    } catch (StreamErrorException | BackendStoppedException e) {
                        outcomes.add(e);
                    } catch (Throwable e) {
                        outcomes.add(new AssertionError("unexpected " + e, e));
                    }
                }));
            }
            Thread.sleep(300);
            cpuBundle.stop();
            for (Thread w : workers) {
                w.join(TimeUnit.SECONDS.toMillis(30));
                assertThat(w.isAlive())
                        .as("%s still running after the backend stopped", w.getName())
                        .isFalse();
            }
            assertThat(outcomes).hasSize(4).allSatisfy(t -> assertThat(t).isNotInstanceOf(AssertionError.class));
            assertThat(stoppedWork.get())
                    .as("busy streams saw their work fail with BACKEND_STOPPED")
                    .isPositive();
            assertThat(threadsNamed("backplane-cpu-"))
                    .as("threads of the stopped backend")
                    .isEmpty();

            cpuBundle.start();
            ExecutionBackend restarted = cpuBackend(b -> b != cpu);
            try (ComputeStream s = restarted.openStream("after-restart")) {
                assertThat(s.add(s.full(1f, 3), s.full(2f, 3)).download()).containsOnly(3f);
            }
        }
        assertThat(threadsNamed("backplane-cpu-stream")).isEmpty();
        assertThat(threadsNamed("backplane-cpu-compute").size()).isLessThanOrEqualTo(threadsBefore.size() + 1);
    }
}
