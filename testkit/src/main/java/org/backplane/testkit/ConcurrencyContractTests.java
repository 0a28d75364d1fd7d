package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.StaleGenerationException;
import org.backplane.api.StreamError;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamPoisonedException;
import org.backplane.api.StreamTransition;
import org.backplane.api.fault.FaultRule;
import org.junit.jupiter.api.Test;

/**
 * The contract under load: 8 threads drive 16 streams through hundreds of ops each while seeded
 * random faults hit half of them. Healthy streams must produce the same bits as a fault-free run;
 * every failure is reported exactly once, then refused, then reset; arrays of failed generations
 * stay unreadable; faulted streams recover and end with the fault-free results; nothing hangs.
 */
public abstract class ConcurrencyContractTests extends ContractTestSupport {
    static final int THREADS = 8;
    static final int STREAMS = 16;
    static final int SEGMENTS = 12;
    static final int STEPS_PER_SEGMENT = 25;
    static final int N = 24;

    @Test
    void eightThreadsSixteenStreamsWithSeededRandomFaults() throws Exception {
        // Fault-free baseline, on a separate instance.
        ExecutionBackend clean = fixture().start(settings());
        Map<Integer, List<float[]>> expected = new HashMap<>(); // filled before the driving threads start
        try {
            for (int i = 0; i < STREAMS; i++) {
                Program p = new Program(i, clean.openStream(label(i)));
                p.runToEnd(null);
                expected.put(i, p.checkpoints);
            }
        } finally {
            fixture().stop(clean);
        }

        faults().schedule(FaultRule.fraction("chaos-faulty-*", 0.004, 42, ErrorKind.PAGE_FAULT)
                .withNativeCode(3));
        faults().schedule(FaultRule.fraction("chaos-faulty-*", 0.003, 43, ErrorKind.TIMEOUT)
                .withNativeCode(2));
        List<Program> programs = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            programs.add(new Program(i, backend.openStream(label(i))));
        }
        List<Throwable> problems = Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            Program a = programs.get(2 * t);
            Program b = programs.get(2 * t + 1);
            threads.add(thread("chaos-driver-" + t, () -> {
                try {
                    while (!a.done() || !b.done()) {
                        a.runSegment(this);
                        b.runSegment(this);
                    }
                } catch (Throwable e) {
                    problems.add(e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join(); // the class timeout catches any waiter that hangs
        }
        assertThat(problems).isEmpty();

        int totalFaults = 0;
        for (Program p : programs) {
            for (int k = 0; k < SEGMENTS; k++) {
                ArrayAssertions.assertBitIdentical(
                        expected.get(p.index).get(k), p.checkpoints.get(k), p.stream.label() + " checkpoint " + k);
            }
            long failedTransitions = awaitCount(p, StreamTransition.Type.FAILED, p.reports.size());
            assertThat(failedTransitions)
                    .as("%s: one report per captured failure", p.stream.label())
                    .isEqualTo(p.reports.size());
            assertThat(listener.count(p.stream.id(), StreamTransition.Type.RESET))
                    .isEqualTo(p.reports.size());
            if (!p.faulty) {
                assertThat(p.reports).as("%s never faulted", p.stream.label()).isEmpty();
                assertThat(listener.types(p.stream.id())).containsExactly(StreamTransition.Type.OPENED);
            }
            totalFaults += p.reports.size();
        }
        assertThat(totalFaults)
                .as("the seeded faults must have hit some streams")
                .isPositive();
    }

    private long awaitCount(Program p, StreamTransition.Type type, long atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (listener.count(p.stream.id(), type) < atLeast && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        return listener.count(p.stream.id(), type);
    }

    private static String label(int i) {
        return (i % 2 == 0 ? "chaos-faulty-" : "chaos-clean-") + i;
    }

    /** One stream's deterministic program: segments of ops, each ending in a checkpoint read. */
    static final class Program {
        final int index;
        final boolean faulty;
        final ComputeStream stream;
        final List<float[]> checkpoints = new ArrayList<>();
        final List<StreamError> reports = new ArrayList<>();
        private DeviceArray w;
        private DeviceArray bias;
        private float[] state;

        Program(int index, ComputeStream stream) {
            this.index = index;
            this.faulty = index % 2 == 0;
            this.stream = stream;
            Random r = new Random(1000 + index);
            this.state = Workloads.scaled(r, N * N, 1f);
        }

        boolean done() {
            return checkpoints.size() == SEGMENTS;
        }

        void runToEnd(ConcurrencyContractTests test) {
            while (!done()) {
                runSegment(test);
            }
        }

        /** Runs the next segment; on a failure, checks the contract, resets and leaves the segment to be redone. */
        void runSegment(ConcurrencyContractTests test) {
            if (done()) {
                return;
            }
            int segment = checkpoints.size();
            DeviceArray x = null;
            try {
                if (w == null) {
                    Random r = new Random(2000 + index);
                    w = stream.upload(Workloads.scaled(r, N * N, 1f / N), N, N);
                    bias = stream.upload(Workloads.scaled(r, N, 0.1f), N);
                }
                x = stream.upload(state, N, N);
                for (int step = 0; step < STEPS_PER_SEGMENT; step++) {
                    x = switch ((segment * STEPS_PER_SEGMENT + step) % 5) {
                        case 0 -> stream.matmul(x, w);
                        case 1 -> stream.tanh(x);
                        case 2 -> stream.add(x, bias);
                        case 3 -> stream.softmax(x);
                        default -> stream.mul(x, stream.full(3f, 1));
                    };
                    if (step == STEPS_PER_SEGMENT / 2) {
                        stream.eval(x);
                    }
                }
                float[] checkpoint = x.download();
                checkpoints.add(checkpoint);
                state = checkpoint;
            } catch (StreamFailedException reported) {
                if (test == null) {
                    throw reported;
                }
                onFailure(test, reported, x);
            }
        }

        private void onFailure(
                ConcurrencyContractTests test, StreamFailedException reported, DeviceArray fromFailedGeneration) {
            StreamError error = reported.error();
            assertThat(error.stream()).isEqualTo(stream.id());
            assertThat(error.kind()).isIn(ErrorKind.PAGE_FAULT, ErrorKind.TIMEOUT);
            reports.add(error);
            // Reported once: every later call is refused with the same error, until reset.
            assertThatThrownBy(stream::synchronize)
                    .isInstanceOfSatisfying(
                            StreamPoisonedException.class,
                            e -> assertThat(e.error()).isEqualTo(error));
            test.backend.reset(stream.id());
            if (fromFailedGeneration != null) {
                assertThatThrownBy(fromFailedGeneration::download).isInstanceOf(StaleGenerationException.class);
            }
            w = null; // inputs of the failed generation are invalid too; upload them again
        }
    }
}
