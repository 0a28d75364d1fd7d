package org.backplane.launcher;

import java.util.List;
import org.backplane.api.ExecutionBackend;
import org.backplane.cpu.CpuBackend;
import org.backplane.cpu.CpuSettings;
import org.backplane.spi.BackendSettings;

/**
 * The command behind {@code ./backplane}. Runs Backplane on its embedded default, the CPU backend.
 *
 * <pre>
 * backplane demo   run the stream error contract demo; exit status 0 if it behaved
 * backplane info   show the backend and its device
 * </pre>
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        String command = args.length == 0 ? "demo" : args[0];
        int status = switch (command) {
            case "demo" -> demo();
            case "info" -> info();
            case "help", "-h", "--help" -> usage(0);
            default -> usage(2);
        };
        System.exit(status);
    }

    private static int demo() {
        // The demo injects a fault, so it runs on its own backend instance with fault injection on.
        try (CpuBackend cpu = CpuBackend.start(CpuSettings.defaults().withCommon(BackendSettings.DEFAULT.withFaultInjection(List.of())))) {
            return new Demo(cpu, System.out).run() ? 0 : 1;
        }
    }

    private static int info() {
        try (CpuBackend cpu = CpuBackend.start()) {
            ExecutionBackend b = cpu;
            System.out.println("backend:      " + b.id() + " (" + b.state() + ")");
            System.out.println("device:       " + b.device().name());
            System.out.println("memory:       " + b.device().memoryBytes() / (1L << 20) + " MiB for arrays");
            b.device().details().forEach((k, v) -> System.out.printf("%-14s%s%n", k + ":", v));
            System.out.println("capabilities: " + b.capabilities());
            return 0;
        }
    }

    private static int usage(int status) {
        System.out.println("usage: backplane [demo|info]");
        System.out.println("  demo   four streams, a fault injected into one: isolation, report once, refusal, reset, recovery");
        System.out.println("  info   the backend and device Backplane runs on");
        return status;
    }
}
