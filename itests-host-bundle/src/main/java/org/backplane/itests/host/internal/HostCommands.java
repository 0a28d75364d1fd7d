package org.backplane.itests.host.internal;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.ObjectName;
import org.backplane.itests.host.HostProbe;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.framework.wiring.BundleRevisions;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code host:*} console commands, so that a test driving a real console (Karaf over SSH) can load
 * the host, redeploy under it and read what happened: {@code host:work N}, {@code host:redeploy N},
 * {@code host:report}, {@code host:vitals}. Output is {@code key=value} lines, printed (Karaf's SSH
 * exec drops returned values).
 */
@Component(
        service = HostCommands.class,
        property = {
            "osgi.command.scope=host",
            "osgi.command.function=work",
            "osgi.command.function=redeploy",
            "osgi.command.function=report",
            "osgi.command.function=vitals"
        })
public final class HostCommands {
    private static final Pattern NMT_TOTAL = Pattern.compile("Total: reserved=(\\d+)KB, committed=(\\d+)KB");
    private static final Pattern NMT_HEAP = Pattern.compile("Java Heap \\(reserved=(\\d+)KB, committed=(\\d+)KB");
    private static final Pattern NMT_CATEGORY =
            Pattern.compile("-\\s+([A-Za-z][A-Za-z ]*?) \\(reserved=\\d+KB, committed=(\\d+)KB");

    /** How long one refresh, or the backend's return after it, may take before a cycle fails. */
    private static final Duration CYCLE_BOUND = Duration.ofSeconds(60);

    @Reference
    private HostProbe host;

    private BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
    }

    /** {@code host:work N}: N threads, each on its own stream, keep submitting ops. */
    public void work(int threads) {
        host.startWork(threads);
        System.out.println("working=" + threads);
    }

    /**
     * {@code host:redeploy N}: N times what an operator's {@code bundle:update org.backplane.cpu;
     * bundle:update org.backplane.runtime; bundle:refresh} does (the same framework calls), each
     * cycle ending once the refresh has finished and the host holds the CPU backend again. One
     * console command for the whole loop: Karaf's SSH server was seen to stop accepting connections
     * after a few hundred under this load, so the test does not open one per cycle. Prints progress
     * every ten cycles, then {@code redeployed=N}; throws (a non-zero exit status) when a cycle does
     * not finish in time.
     */
    public void redeploy(int cycles) throws BundleException, InterruptedException {
        if (cycles < 1) {
            throw new IllegalArgumentException("cycles must be at least 1, not " + cycles);
        }
        Bundle cpu = bundle("org.backplane.cpu");
        Bundle runtime = bundle("org.backplane.runtime");
        FrameworkWiring framework =
                context.getBundle(Constants.SYSTEM_BUNDLE_ID).adapt(FrameworkWiring.class);
        long start = System.nanoTime();
        for (int i = 1; i <= cycles; i++) {
            cpu.update();
            runtime.update();
            CountDownLatch refreshed = new CountDownLatch(1);
            FrameworkEvent[] outcome = new FrameworkEvent[1];
            framework.refreshBundles(null, e -> {
                outcome[0] = e;
                refreshed.countDown();
            });
            if (!refreshed.await(CYCLE_BOUND.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("cycle " + i + ": the refresh did not finish within " + CYCLE_BOUND);
            }
            if (outcome[0].getType() != FrameworkEvent.PACKAGES_REFRESHED) {
                throw new IllegalStateException(
                        "cycle " + i + ": the refresh failed: " + outcome[0].getThrowable(), outcome[0].getThrowable());
            }
            awaitBackend("cpu", i);
            if (i % 10 == 0 || i == cycles) {
                System.out.printf(
                        "progress=cycle %d/%d, %d s%n", i, cycles, (System.nanoTime() - start) / 1_000_000_000L);
                System.out.flush();
            }
        }
        System.out.println("redeployed=" + cycles);
        System.out.flush();
    }

    private Bundle bundle(String symbolicName) {
        for (Bundle b : context.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new IllegalStateException("no bundle " + symbolicName + " is installed");
    }

    private void awaitBackend(String id, int cycle) throws InterruptedException {
        long deadline = System.nanoTime() + CYCLE_BOUND.toNanos();
        while (!id.equals(host.currentBackend())) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("cycle " + cycle + ": the host did not get the " + id
                        + " backend back within " + CYCLE_BOUND + " (it holds " + host.currentBackend() + ")");
            }
            Thread.sleep(5);
        }
    }

    /** {@code host:report}: stops the work and prints what happened to every op. */
    public void report() throws InterruptedException {
        HostProbe.WorkReport r = host.stopWork();
        System.out.println("submitted=" + r.submitted());
        System.out.println("completed=" + r.completed());
        System.out.println("failed=" + r.failedClearly());
        r.failuresByKind().forEach((kind, n) -> System.out.println("failed." + kind + "=" + n));
        r.otherFailureExamples().forEach(f -> System.out.println("failed.example=" + f));
        System.out.println("wrong=" + r.wrong());
        System.out.println("unexplained=" + r.unexplained().size());
        r.unexplained().stream().limit(5).forEach(u -> System.out.println("unexplained.example=" + u));
        System.out.println("hung=" + r.hungThreads());
        System.out.flush();
    }

    /**
     * {@code host:vitals}: after a full GC (so that unloaded bundle class loaders are gone): live
     * threads, native memory committed (NMT, when the JVM tracks it; in total and without the Java
     * heap, whose size GC tuning moves), bundles pending removal, and per Backplane bundle its
     * revisions and in-use wirings.
     */
    public void vitals() throws Exception {
        System.gc();
        Map<String, Object> v = new TreeMap<>();
        v.put("threads", ManagementFactory.getThreadMXBean().getThreadCount());
        // Karaf's shell runs each session on its own pool ("session-N-thread-M"), idle-retired after 60 s.
        v.put(
                "threads.shell.sessions",
                Thread.getAllStackTraces().keySet().stream()
                        .filter(t -> t.getName().startsWith("session-"))
                        .count());
        String nmt = nativeMemorySummary();
        long total = committedKb(NMT_TOTAL, nmt);
        long heap = committedKb(NMT_HEAP, nmt);
        v.put("nmt.committed.kb", total);
        v.put("nmt.committed.nonheap.kb", total < 0 || heap < 0 ? -1 : total - heap);
        Matcher category = NMT_CATEGORY.matcher(nmt);
        while (category.find()) {
            v.put("nmt.category." + category.group(1).replace(' ', '_') + ".kb", Long.parseLong(category.group(2)));
        }
        FrameworkWiring framework =
                context.getBundle(Constants.SYSTEM_BUNDLE_ID).adapt(FrameworkWiring.class);
        v.put("removal.pending", framework.getRemovalPendingBundles().size());
        for (Bundle b : context.getBundles()) {
            String name = b.getSymbolicName();
            if (name == null || !name.startsWith("org.backplane")) {
                continue;
            }
            int inUse = 0;
            BundleRevisions revisions = b.adapt(BundleRevisions.class);
            for (BundleRevision r : revisions.getRevisions()) {
                BundleWiring w = r.getWiring();
                if (w != null && w.isInUse()) {
                    inUse++;
                }
            }
            v.put("revisions." + name, revisions.getRevisions().size());
            v.put("wirings.in.use." + name, inUse);
        }
        v.forEach((k, value) -> System.out.println(k + "=" + value));
        System.out.flush();
    }

    /** {@code jcmd PID VM.native_memory summary}, asked of this JVM. */
    private static String nativeMemorySummary() throws Exception {
        return String.valueOf(ManagementFactory.getPlatformMBeanServer()
                .invoke(
                        new ObjectName("com.sun.management:type=DiagnosticCommand"),
                        "vmNativeMemory",
                        new Object[] {new String[] {"summary"}},
                        new String[] {String[].class.getName()}));
    }

    /** The committed KB a summary line reports, or -1 when the JVM was started without tracking. */
    private static long committedKb(Pattern line, String summary) {
        Matcher m = line.matcher(summary);
        return m.find() ? Long.parseLong(m.group(2)) : -1;
    }
}
