package org.backplane.cuda.scenarios;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.backplane.api.BackendState;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.DeviceLostException;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamErrorException;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamPoisonedException;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.StreamState;
import org.backplane.api.fault.FaultRule;
import org.backplane.cpu.CpuBackend;
import org.backplane.cpu.CpuSettings;
import org.backplane.cuda.CudaBackend;
import org.backplane.cuda.CudaSettings;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.MemoryPolicy;
import org.backplane.spi.runtime.PoisonStateRegistry;

/**
 * Real GPU faults, each in its own process because an illegal address ends CUDA for the process.
 * Every step prints what it saw; a step that does not hold prints FAIL and the exit status is 1.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp ... org.backplane.cuda.scenarios.RealFaultScenario out-of-memory|illegal-address
 * </pre>
 */
public final class RealFaultScenario {
    private static final int N = 256;
    private int failures;
    private final long started = System.nanoTime();

    public static void main(String[] args) throws Exception {
        if (args.length != 1 || !List.of("out-of-memory", "illegal-address").contains(args[0])) {
            System.err.println("usage: RealFaultScenario out-of-memory|illegal-address");
            System.exit(2);
        }
        if (!CudaBackend.isAvailable()) {
            System.err.println("no GPU: " + CudaBackend.availability());
            System.exit(2);
        }
        RealFaultScenario s = new RealFaultScenario();
        if (args[0].equals("out-of-memory")) {
            s.outOfMemory();
        } else {
            s.illegalAddress();
        }
        s.log(s.failures == 0 ? "RESULT: every step held" : "RESULT: " + s.failures + " step(s) did NOT hold");
        System.exit(s.failures == 0 ? 0 : 1);
    }

    // ------------------------------------------------------------------ out of memory

    /** A real cuMemAlloc failure poisons only the stream that asked, and reset recovers it. */
    void outOfMemory() {
        PoisonStateRegistry states = new PoisonStateRegistry(t -> log("  transition " + t.type() + " " + t.stream()
                + (t.error() != null ? ": " + t.error().describe() : "")));
        // No memory limit of Backplane's own (S12 would refuse first, with no CUDA code): the driver must refuse.
        BackendSettings unlimited = BackendSettings.DEFAULT.withMemory(new MemoryPolicy(1L << 30, 0, 0, 90));
        try (CudaBackend cuda = CudaBackend.start(CudaSettings.defaults().withCommon(unlimited))) {
            states.add(cuda);
            log("device: " + cuda.device().name() + ", " + cuda.device().memoryBytes() / (1 << 20) + " MiB, "
                    + cuda.device().details());
            ComputeStream greedy = cuda.openStream("greedy");
            ComputeStream bystander = cuda.openStream("bystander");
            float[] a = random(1, N * N);
            float[] b = random(2, N * N);
            float[] expected = reference(a, b);
            DeviceArray da = bystander.upload(a, N, N);
            DeviceArray db = bystander.upload(b, N, N);
            check(
                    "bystander's matmul before the fault matches the CPU reference",
                    close(bystander.matmul(da, db).download(), expected));

            int rows = (int) (cuda.device().memoryBytes() * 0.4 / Float.BYTES / 1024);
            log("greedy stream allocates arrays of " + rows + " x 1024 floats (" + (long) rows * 4096 / (1 << 20)
                    + " MiB, 40% of the device) until the device refuses");
            List<DeviceArray> held = new ArrayList<>();
            StreamErrorException reported = null;
            try {
                for (int i = 0; i < 4; i++) {
                    held.add(greedy.full(1f, rows, 1024));
                }
                greedy.synchronize();
            } catch (StreamErrorException e) {
                reported = e;
            }
            check(
                    "the allocation failure is reported to the greedy stream's caller",
                    reported instanceof StreamFailedException);
            if (reported != null) {
                log("  reported: " + reported.getMessage());
                check(
                        "it is OUT_OF_MEMORY with CUDA's own code 2 (CUDA_ERROR_OUT_OF_MEMORY)",
                        reported.error().kind() == ErrorKind.OUT_OF_MEMORY
                                && reported.error().nativeCode() == 2);
            }
            check(
                    "the next call on the greedy stream is refused",
                    throwsType(greedy::synchronize, StreamPoisonedException.class));
            printStates(states);
            check(
                    "the poison-state service shows greedy not ACTIVE and bystander ACTIVE",
                    state(states, greedy) != StreamState.ACTIVE && state(states, bystander) == StreamState.ACTIVE);
            check(
                    "the bystander stream keeps working",
                    close(bystander.matmul(da, db).download(), expected));
            check("the backend is still RUNNING", cuda.state() == BackendState.RUNNING);

            for (DeviceArray h : held) {
                h.close();
            }
            held.clear();
            StreamSnapshot after = states.reset(greedy.id());
            log("reset through the poison-state service: " + after.state() + ", generation " + after.generation());
            check("reset makes the greedy stream ACTIVE again", after.state() == StreamState.ACTIVE);
            DeviceArray ga = greedy.upload(a, N, N);
            DeviceArray gb = greedy.upload(b, N, N);
            check(
                    "after reset the greedy stream computes correctly",
                    close(greedy.matmul(ga, gb).download(), expected));
            DeviceArray big = greedy.full(2f, rows, 1024);
            check(
                    "after reset (and closing the arrays it held) a 40% allocation succeeds again",
                    greedy.max(big).download()[0] == 2f
                            && greedy.sum(greedy.full(1f, 1 << 20)).download()[0] == 1 << 20);
        }
    }

    // ------------------------------------------------------------------ illegal address

    /**
     * A real out-of-bounds kernel write (CUDA error 700) on one stream: the others' completed results
     * stay intact, the error reaches the victim's caller once, everything later is refused, and the
     * poison-state service shows DEVICE_LOST.
     */
    void illegalAddress() {
        PoisonStateRegistry states = new PoisonStateRegistry(t -> log("  transition " + t.type() + " " + t.stream()
                + (t.error() != null ? ": " + t.error().describe() : "")));
        // The victim's 3rd op runs a real kernel that writes far outside any allocation.
        BackendSettings common =
                BackendSettings.DEFAULT.withFaultInjection(List.of(FaultRule.atOp("victim", 3, ErrorKind.PAGE_FAULT)));
        try (CudaBackend cuda =
                CudaBackend.start(CudaSettings.defaults().withCommon(common).withRealFaults(true))) {
            states.add(cuda);
            log("device: " + cuda.device().name() + ", " + cuda.device().details());
            List<ComputeStream> bystanders = new ArrayList<>();
            List<float[]> downloaded = new ArrayList<>();
            List<float[]> expected = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                ComputeStream s = cuda.openStream("bystander-" + i);
                bystanders.add(s);
                float[] a = random(10 + i, N * N);
                float[] b = random(20 + i, N * N);
                expected.add(reference(a, b));
                downloaded.add(s.matmul(s.upload(a, N, N), s.upload(b, N, N)).download());
            }
            for (int i = 0; i < 3; i++) {
                check(
                        "bystander-" + i + "'s completed result matches the CPU reference",
                        close(downloaded.get(i), expected.get(i)));
            }
            float[][] copies = new float[3][];
            for (int i = 0; i < 3; i++) {
                copies[i] = downloaded.get(i).clone();
            }

            ComputeStream victim = cuda.openStream("victim");
            DeviceArray x = victim.upload(random(3, N * N), N, N);
            DeviceArray y = victim.upload(random(4, N * N), N, N);
            log("victim: its op 3 (counting ops, not uploads) runs a kernel that writes to an illegal address");
            StreamErrorException first = null;
            int reports = 0;
            int refusals = 0;
            int callsAfterReport = 0;
            for (int call = 0; call < 6; call++) {
                if (first != null) {
                    callsAfterReport++;
                }
                try {
                    DeviceArray z = victim.matmul(x, y);
                    victim.eval(z);
                    log("  call " + call + ": completed");
                } catch (StreamFailedException e) {
                    reports++;
                    first = first == null ? e : first;
                    log("  call " + call + ": reported " + e.getMessage());
                } catch (StreamPoisonedException e) {
                    refusals++;
                    log("  call " + call + ": refused (" + e.getClass().getSimpleName() + ")");
                }
            }
            check("the original error reached the victim's caller exactly once", reports == 1);
            check("every later call on the victim was refused", refusals == callsAfterReport && refusals > 0);
            if (first != null) {
                check(
                        "it carries CUDA's own code 700 and text",
                        first.error().nativeCode() == 700
                                && first.error().nativeText().contains("ILLEGAL_ADDRESS"));
            }
            check("the backend is DEVICE_LOST", cuda.state() == BackendState.DEVICE_LOST);
            printStates(states);
            check(
                    "the poison-state service shows every stream on the device not ACTIVE",
                    states.streams().stream().noneMatch(StreamSnapshot::isHealthy)
                            && states.streams().size() == 4);
            for (int i = 0; i < 3; i++) {
                check(
                        "bystander-" + i + "'s downloaded result is intact after the fault",
                        java.util.Arrays.equals(copies[i], downloaded.get(i))
                                && close(downloaded.get(i), expected.get(i)));
                ComputeStream s = bystanders.get(i);
                Class<?> type = thrown(s::synchronize);
                log("  bystander-" + i + " next call: " + (type == null ? "no error" : type.getSimpleName()));
                check(
                        "bystander-" + i + " learns of the device loss on its next call",
                        type == StreamFailedException.class);
            }
            try {
                states.reset(victim.id());
                check("reset after an illegal address says the GPU is gone for this process", false);
            } catch (DeviceLostException e) {
                log("  reset: " + e.getMessage());
                check(
                        "reset after an illegal address says the GPU is gone for this process",
                        e.getMessage().contains("Restart the process"));
            }
            log("closing the backend (streams and callbacks wind down without touching the dead context)");
        }
        check("the JVM is still alive after the fault and the stop", true);
    }

    // ------------------------------------------------------------------ helpers

    private static StreamState state(PoisonStateRegistry states, ComputeStream s) {
        return states.stream(s.id()).map(StreamSnapshot::state).orElse(null);
    }

    private void printStates(PoisonStateRegistry states) {
        log("poison-state service:");
        for (StreamSnapshot s : states.streams()) {
            log(String.format(
                    Locale.ROOT,
                    "  %-10s %-14s %-9s gen %d  %s",
                    s.id(),
                    s.label(),
                    s.state(),
                    s.generation(),
                    s.error()
                            .map(e -> e.kind() + " " + e.nativeCode() + " " + e.nativeText())
                            .orElse("")));
        }
    }

    private void check(String what, boolean held) {
        if (!held) {
            failures++;
        }
        log((held ? "PASS " : "FAIL ") + what);
    }

    private void log(String line) {
        System.out.printf(Locale.ROOT, "[%7.3f s] %s%n", (System.nanoTime() - started) / 1e9, line);
    }

    private static boolean throwsType(Runnable call, Class<?> type) {
        return type.equals(thrown(call));
    }

    private static Class<?> thrown(Runnable call) {
        try {
            call.run();
            return null;
        } catch (RuntimeException e) {
            return e.getClass();
        }
    }

    private static float[] random(long seed, int n) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextFloat() * 2 - 1;
        }
        return v;
    }

    /** The CPU backend's float64 reference kernels. */
    private static float[] reference(float[] a, float[] b) {
        try (CpuBackend cpu = CpuBackend.start(CpuSettings.defaults().withKernels(CpuSettings.REFERENCE))) {
            ComputeStream s = cpu.openStream("reference");
            return s.matmul(s.upload(a, N, N), s.upload(b, N, N)).download();
        }
    }

    private static boolean close(float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            return false;
        }
        for (int i = 0; i < actual.length; i++) {
            if (Math.abs(actual[i] - expected[i]) > 1e-4f * N) {
                return false;
            }
        }
        return true;
    }
}
