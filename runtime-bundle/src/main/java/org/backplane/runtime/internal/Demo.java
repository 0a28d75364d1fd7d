package org.backplane.runtime.internal;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.StreamErrorException;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamPoisonedException;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.fault.FaultInjector;
import org.backplane.api.fault.FaultRule;

/**
 * The stream error contract, shown on a live backend: four streams run the same workload, one of
 * them is hit by an injected fault; the other three still produce exactly the fault-free results,
 * the failed stream reports its error once and then refuses work, and a reset brings it back.
 */
public final class Demo {
    static final int STREAMS = 4;
    static final int FAULTY = 2;
    static final int N = 256;

    private final ExecutionBackend backend;
    private final FaultInjector faults;
    private final PrintStream out;

    /**
     * @param backend a running backend whose fault injection is enabled
     * @param out where the report goes
     * @throws IllegalArgumentException if the backend's fault injection is off, saying how to enable it
     */
    public Demo(ExecutionBackend backend, PrintStream out) {
        this.backend = backend;
        this.faults = FaultInjector.of(backend)
                .orElseThrow(() ->
                        new IllegalArgumentException("the demo injects a fault, but fault injection is off on backend '"
                                + backend.id() + "'. Enable it in the "
                                + "backend's configuration (for the CPU backend: config:property-set -p org.backplane.backend.cpu "
                                + "faultInjection.enabled true)"));
        this.out = out;
    }

    /** Runs the demo; returns true if every step behaved as the contract says. */
    public boolean run() {
        boolean ok = true;
        out.printf(
                "Backplane demo on backend '%s': %s%n",
                backend.id(), backend.device().name());
        out.printf(
                "  %d streams, each: 12 steps of x = tanh(x @ W) on %dx%d float32, then a checksum%n%n", STREAMS, N, N);

        out.println("1. Fault-free reference run");
        List<float[]> reference = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            try (ComputeStream s = backend.openStream("demo-reference-" + i)) {
                reference.add(workload(s, i));
            }
        }
        out.printf("   %d streams computed%n%n", STREAMS);

        List<ComputeStream> streams = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            streams.add(backend.openStream("demo-" + i));
        }
        out.printf(
                "2. The same run with a PAGE_FAULT injected into op 7 of stream demo-%d (%s)%n",
                FAULTY, streams.get(FAULTY).id());
        FaultRule rule = FaultRule.atOp(streams.get(FAULTY).id().toString(), 7, ErrorKind.PAGE_FAULT)
                .withNativeCode(3)
                .withMessage("injected by the demo");
        faults.schedule(rule);
        StreamFailedException report = null;
        try {
            for (int i = 0; i < STREAMS; i++) {
                ComputeStream s = streams.get(i);
                try {
                    float[] result = workload(s, i);
                    boolean exact = java.util.Arrays.equals(result, reference.get(i));
                    ok &= exact && i != FAULTY;
                    out.printf(
                            "   %s: %s%n",
                            s.label(), exact ? "result bit-identical to the fault-free run" : "RESULT DIFFERS");
                } catch (StreamFailedException e) {
                    report = e;
                    ok &= i == FAULTY;
                    out.printf(
                            "   %s: failed, reported once: %s%n",
                            s.label(), e.error().describe());
                }
            }
            ComputeStream failed = streams.get(FAULTY);
            out.println();
            out.println("3. Every later call on the failed stream is refused");
            try {
                failed.synchronize();
                ok = false;
                out.println("   synchronize() returned: CONTRACT BROKEN");
            } catch (StreamPoisonedException e) {
                ok &= report != null && e.error().equals(report.error());
                out.println("   synchronize() -> StreamPoisonedException naming the same error");
            }
            StreamSnapshot poisoned = failed.snapshot();
            out.printf(
                    "   snapshot: state %s, generation %d, first error %s, %d later error(s)%n%n",
                    poisoned.state(),
                    poisoned.generation(),
                    poisoned.firstError() == null
                            ? "none"
                            : poisoned.firstError().kind(),
                    poisoned.suppressedErrors());

            out.println("4. Reset and recovery");
            StreamSnapshot after = backend.reset(failed.id());
            out.printf("   reset: state %s, generation %d%n", after.state(), after.generation());
            float[] recovered = workload(failed, FAULTY);
            boolean exact = java.util.Arrays.equals(recovered, reference.get(FAULTY));
            ok &= exact;
            out.printf(
                    "   %s recomputed: %s%n%n",
                    failed.label(), exact ? "bit-identical to the fault-free run" : "RESULT DIFFERS");
        } catch (StreamErrorException e) {
            ok = false;
            out.println("   unexpected failure: " + e.getMessage());
        } finally {
            faults.remove(rule);
            for (ComputeStream s : streams) {
                s.close();
            }
        }
        out.println(
                ok
                        ? "Demo passed: the fault stayed in its stream, was reported once, refused after, and reset recovered it."
                        : "Demo FAILED: see above.");
        return ok;
    }

    /** The demo's workload: deterministic per stream index; returns the final checksum vector. */
    static float[] workload(ComputeStream s, int index) {
        Random r = new Random(index);
        DeviceArray w = s.upload(values(r, N * N, 1f / N), N, N);
        DeviceArray x = s.upload(values(r, N * N, 1f), N, N);
        for (int step = 0; step < 12; step++) {
            x = s.tanh(s.matmul(x, w));
        }
        return s.sum(x, 1).download();
    }

    private static float[] values(Random r, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (r.nextFloat() * 2 - 1) * scale;
        }
        return v;
    }
}
