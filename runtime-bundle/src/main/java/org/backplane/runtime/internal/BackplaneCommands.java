package org.backplane.runtime.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.backplane.api.ActiveBackend;
import org.backplane.api.BackendUsage;
import org.backplane.api.PoisonStateService;
import org.backplane.api.StreamError;
import org.backplane.api.StreamId;
import org.backplane.api.StreamSnapshot;
import org.backplane.cpu.reference.ReferenceChecker;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The {@code backplane:} console commands. Registered through the {@code osgi.command.*} service
 * properties, which both the plain Felix Gogo runtime and Karaf's shell understand.
 *
 * <p>Each command prints its output to {@code System.out}, which both shells redirect to the
 * session, rather than returning it: Karaf's SSH exec channel ({@code ssh karaf@host backplane:streams})
 * discards returned values. Failures are thrown, so that exec sees a non-zero exit status.
 */
@Component(
        service = BackplaneCommands.class,
        property = {
            "osgi.command.scope=backplane",
            "osgi.command.function=streams",
            "osgi.command.function=stream",
            "osgi.command.function=reset",
            "osgi.command.function=resetall",
            "osgi.command.function=backend",
            "osgi.command.function=verify",
            "osgi.command.function=matmuldemo"
        })
public final class BackplaneCommands {
    static final Duration SWITCH_WAIT = Duration.ofSeconds(10);

    @Reference
    private PoisonStateService poison;

    @Reference
    private BackendSelection selection;

    @Reference
    private VerificationComponent verification;

    @Reference
    private ConfigurationAdmin configAdmin;

    @Reference(
            cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile ActiveBackend active;

    /** {@code backplane:streams}: a table of all streams of all backends. */
    public void streams() {
        ActiveBackend b = active;
        print(table(poison.streams()) + (b == null ? "" : "\n" + usage(b.id(), b.usage())));
    }

    /** One line on what a backend holds: memory against its limit, streams, threads. */
    static String usage(String backend, BackendUsage u) {
        return String.format(
                Locale.ROOT,
                "backend %s: arrays hold %s of %s (peak %s, %s pooled), %d of %d streams open, %d threads%s",
                backend,
                mib(u.memoryUsedBytes()),
                mib(u.memoryLimitBytes()),
                mib(u.memoryPeakBytes()),
                mib(u.pooledBytes()),
                u.openStreams(),
                u.maxStreams(),
                u.threads(),
                u.aboveHighWater() ? "; ABOVE the high-water mark of " + u.highWaterPercent() + "%" : "");
    }

    static String table(List<StreamSnapshot> streams) {
        if (streams.isEmpty()) {
            return "no open streams";
        }
        StringBuilder sb = new StringBuilder();
        String format = "%-10s %-20s %-9s %4s %10s %10s %8s %10s %10s  %s%n";
        sb.append(String.format(
                Locale.ROOT,
                format,
                "ID",
                "LABEL",
                "STATE",
                "GEN",
                "SUBMITTED",
                "COMPLETED",
                "FAILED",
                "MEMORY",
                "RESERVE",
                "ERROR"));
        for (StreamSnapshot s : streams) {
            StreamError e = s.firstError();
            sb.append(String.format(
                    Locale.ROOT,
                    format,
                    s.id(),
                    abbreviate(s.label(), 20),
                    s.state(),
                    s.generation(),
                    s.opsSubmitted(),
                    s.opsCompleted(),
                    s.opsFailed(),
                    mib(s.memoryBytes()),
                    mib(s.memoryReserveBytes()),
                    e == null ? "" : e.kind() + (e.failedOp().isEmpty() ? "" : " in " + abbreviate(e.failedOp(), 40))));
        }
        return sb.toString().stripTrailing();
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1 << 20));
    }

    private static String abbreviate(String text, int max) {
        return text.length() <= max ? text : text.substring(0, max - 1) + "…";
    }

    /** {@code backplane:stream <id>}: one stream in detail, with its captured error. */
    public void stream(String id) {
        StreamSnapshot s = poison.stream(StreamId.parse(id))
                .orElseThrow(() -> new IllegalArgumentException("no open stream " + id));
        print(details(s));
    }

    static String details(StreamSnapshot s) {
        StringBuilder sb = new StringBuilder();
        sb.append("stream     ").append(s.id()).append(" '").append(s.label()).append("'\n");
        sb.append("state      ")
                .append(s.state())
                .append(" since ")
                .append(s.stateSince())
                .append('\n');
        sb.append("generation ").append(s.generation()).append('\n');
        sb.append("ops        ")
                .append(s.opsSubmitted())
                .append(" submitted, ")
                .append(s.opsCompleted())
                .append(" completed, ")
                .append(s.opsFailed())
                .append(" failed\n");
        sb.append("memory     ")
                .append(mib(s.memoryBytes()))
                .append(s.memoryQuotaBytes() > 0 ? " of a quota of " + mib(s.memoryQuotaBytes()) : " (no quota)")
                .append("; ")
                .append(mib(s.memoryReserveBytes()))
                .append(" reserved for it (what it used lately, at least the minimum)")
                .append('\n');
        sb.append("opened     ").append(s.createdAt()).append('\n');
        StreamError e = s.firstError();
        if (e == null) {
            sb.append("error      none");
            return sb.toString();
        }
        sb.append("error      ").append(e.kind()).append('\n');
        sb.append("  message  ").append(e.message()).append('\n');
        sb.append("  native   ")
                .append(e.nativeCode())
                .append(e.nativeText().isEmpty() ? "" : " " + e.nativeText())
                .append('\n');
        sb.append("  op       ")
                .append(e.failedOp().isEmpty() ? "-" : e.failedOp())
                .append(e.sequence() > 0 ? " (#" + e.sequence() + ")" : "")
                .append('\n');
        sb.append("  at       ")
                .append(e.time())
                .append(" on thread ")
                .append(e.thread())
                .append('\n');
        if (e.upstream() != null) {
            sb.append("  caused by ").append(e.upstream().describe()).append('\n');
        }
        sb.append("later errors ").append(s.suppressedErrors());
        for (StreamError later : s.suppressed()) {
            sb.append("\n  ").append(later.describe());
        }
        return sb.toString();
    }

    /** {@code backplane:reset <id>}. */
    public void reset(String id) {
        StreamSnapshot s = poison.reset(StreamId.parse(id));
        print("reset " + s.id() + ": " + s.state() + ", generation " + s.generation());
    }

    /** {@code backplane:resetall}. */
    public void resetall() {
        int n = poison.resetAll();
        print("reset " + n + " stream(s)");
    }

    /** {@code backplane:backend}: the selection, the registered backends, and why. */
    public void backend() {
        print(backendStatus());
    }

    private String backendStatus() {
        BackendSelection.Status st = selection.status();
        StringBuilder sb = new StringBuilder();
        sb.append("active     ")
                .append(st.active() == null ? "none" : st.active())
                .append('\n');
        sb.append("preference ")
                .append(String.join(",", st.preference()))
                .append(" (configuration ")
                .append(BackendSelection.PID)
                .append(")\n");
        sb.append("registered ");
        if (st.registered().isEmpty()) {
            sb.append("none");
        }
        st.registered()
                .forEach((id, state) -> sb.append(id).append(" (").append(state).append(") "));
        st.workers()
                .forEach((id, worker) -> sb.append('\n')
                        .append("worker     ")
                        .append(id)
                        .append(": ")
                        .append(worker));
        st.unavailable()
                .forEach((id, why) -> sb.append('\n')
                        .append("inactive   ")
                        .append(id)
                        .append(": ")
                        .append(why));
        if (!st.note().isEmpty()) {
            sb.append('\n').append("note       ").append(st.note());
        }
        return sb.toString().stripTrailing();
    }

    /** {@code backplane:backend <id[,id...]>}: switch through Config Admin, then show the outcome. */
    public void backend(String preference) throws IOException, InterruptedException {
        List<String> wanted = BackendSelectionComponent.parse(preference);
        if (wanted.isEmpty()) {
            throw new IllegalArgumentException("name a backend id, or a preference list such as metal,cuda,cpu");
        }
        update(BackendSelection.PID, Map.of("backend", String.join(",", wanted)));
        awaitApplied(() -> selection.status().preference().equals(wanted));
        backend();
    }

    /** {@code backplane:verify}: whether result checking is on. */
    public void verify() {
        print(verificationStatus());
    }

    private String verificationStatus() {
        ReferenceChecker c = verification.checker();
        return c == null
                ? "result checking is off (backplane:verify on to enable)"
                : String.format(
                        Locale.ROOT,
                        "result checking is on: sample rate %s, rtol %s, atol %s",
                        c.sampleRate(),
                        c.rtol(),
                        c.atol());
    }

    /** {@code backplane:verify on|off}: turn result checking on or off through Config Admin. */
    public void verify(String onOff) throws IOException, InterruptedException {
        boolean on = switch (onOff.toLowerCase(Locale.ROOT)) {
            case "on", "true", "enable" -> true;
            case "off", "false", "disable" -> false;
            default -> throw new IllegalArgumentException("verify takes on or off, not '" + onOff + "'");
        };
        update(VerificationComponent.PID, Map.of("enabled", on));
        awaitApplied(() -> (verification.checker() != null) == on);
        verify();
    }

    /**
     * {@code backplane:matmuldemo}: four streams on the active backend running synthetic matmuls, a
     * fault injected into one; shows isolation, the report, the refusal, the reset and the recovery.
     * Fails if the contract did not hold. ({@code backplane:demo}, in the embeddings bundle, shows the
     * same on the real workload.)
     */
    public void matmuldemo() {
        ActiveBackend backend = active;
        if (backend == null) {
            throw new IllegalStateException("no backend is active: " + backendStatus());
        }
        // The report goes out step by step, as the demo runs.
        if (!new Demo(backend, System.out).run()) {
            throw new IllegalStateException("the demo found the stream error contract broken (see the steps above)");
        }
    }

    /** Config Admin delivers updates asynchronously: waits, at most {@link #SWITCH_WAIT}, until one took effect. */
    private static void awaitApplied(BooleanSupplier applied) throws InterruptedException {
        long deadline = System.nanoTime() + SWITCH_WAIT.toNanos();
        while (System.nanoTime() < deadline && !applied.getAsBoolean()) {
            Thread.sleep(20);
        }
    }

    private static void print(String text) {
        System.out.println(text);
        System.out.flush();
    }

    private void update(String pid, Map<String, Object> values) throws IOException {
        Configuration config = configAdmin.getConfiguration(pid, "?");
        Dictionary<String, Object> props = config.getProperties();
        if (props == null) {
            props = new Hashtable<>();
        }
        for (Map.Entry<String, Object> e : values.entrySet()) {
            props.put(e.getKey(), e.getValue());
        }
        config.update(props);
    }
}
