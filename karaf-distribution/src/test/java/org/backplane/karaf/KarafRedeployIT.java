package org.backplane.karaf;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Hot redeploy under load in the distribution: with streams busy on the CPU backend, an update of
 * the CPU backend and the runtime bundles and a refresh ({@code host:redeploy}: what {@code
 * bundle:update org.backplane.cpu; bundle:update org.backplane.runtime; bundle:refresh} calls, one
 * console command for the whole loop), {@code redeploy.cycles} times. The JVM lives; every op
 * completes or fails with BACKEND_STOPPED (none hangs, none wrong, none unexplained); threads return
 * to their baseline; no stale revision stays wired; native memory (NMT, without the Java heap)
 * stays flat. The numbers go to {@code redeploy.report}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KarafRedeployIT {
    private static final String ADMIN = "karaf";
    private static final int WORK_THREADS = 2;
    /**
     * Loaded cycles before the baseline: the JIT fills the code cache for the new revisions' classes
     * during the first few dozen (measured: about 30 MB, then flat), which is warm-up, not a leak.
     */
    private static final int WARM_UP_CYCLES = 50;

    private static final Duration SETTLE = Duration.ofSeconds(60);
    /** Allowed native growth over the whole loop: a leaked class loader, thread or arena per cycle would be far more. */
    private static final long NMT_SLACK_KB = 16 * 1024;
    /** Threads that may come and go on their own (RMI connections, pooled workers that retire on timeout). */
    private static final int THREAD_SLACK = 3;

    private static final Duration SESSION_KEEP_ALIVE = Duration.ofSeconds(65);
    /** For a whole loop of cycles in one command (each cycle takes well under a second). */
    private static final Duration CYCLES_BOUND = Duration.ofMinutes(8);

    private KarafInstance karaf;

    @BeforeAll
    void start() throws Exception {
        karaf = KarafInstance.start("it-karaf-redeploy", "-XX:NativeMemoryTracking=summary");
    }

    @AfterAll
    void close() throws Exception {
        if (karaf != null) {
            karaf.close();
        }
    }

    private KarafInstance.Exec admin(String command) throws Exception {
        KarafInstance.Exec e = karaf.exec(ADMIN, ADMIN, command);
        assertThat(e.status()).as("%s -> %s", command, e).isZero();
        return e;
    }

    private static Map<String, String> keyValues(String out) {
        Map<String, String> m = new LinkedHashMap<>();
        out.lines()
                .filter(l -> l.contains("="))
                .forEach(l -> m.put(
                        l.substring(0, l.indexOf('=')),
                        l.substring(l.indexOf('=') + 1).strip()));
        return m;
    }

    private void awaitCpuActive() throws Exception {
        KarafInstance.Exec e =
                karaf.until(ADMIN, ADMIN, "backplane:backend", out -> out.contains("active     cpu"), SETTLE);
        if (!e.out().contains("active     cpu")) {
            // A hang here once went unexplained: the Karaf JVM's threads say where a refresh stopped.
            throw new AssertionError("the CPU backend did not come back within " + SETTLE + ": " + e
                    + "\nthreads of the Karaf JVM, " + karaf.threadDump());
        }
    }

    /**
     * {@code cycles} redeploy cycles in one console command (Karaf's SSH server was seen to stop
     * accepting connections after a few hundred under this load, so not one connection per cycle);
     * then the runtime's own command must show the CPU backend active.
     */
    private void redeploy(int cycles) throws Exception {
        KarafInstance.Exec e = karaf.exec(ADMIN, ADMIN, "host:redeploy " + cycles, CYCLES_BOUND);
        e.out()
                .lines()
                .filter(l -> l.startsWith("progress="))
                .forEach(l -> System.out.println("[redeploy] " + l.substring(9)));
        if (e.status() != 0 || !e.out().contains("redeployed=" + cycles)) {
            throw new AssertionError("host:redeploy " + cycles + " did not finish: " + e
                    + "\nthreads of the Karaf JVM, " + karaf.threadDump());
        }
        awaitCpuActive();
    }

    /**
     * Vitals once Karaf's idle shell-session threads have retired: each SSH exec leaves a pool of
     * four threads that lives 60 s, so nothing is sent for {@link #SESSION_KEEP_ALIVE} before asking.
     */
    private Map<String, String> settledVitals() throws Exception {
        System.out.println("[redeploy] waiting " + SESSION_KEEP_ALIVE.toSeconds()
                + " s for Karaf's idle shell-session threads to retire");
        Thread.sleep(SESSION_KEEP_ALIVE.toMillis());
        return keyValues(admin("host:vitals").out());
    }

    @Test
    void redeployUnderLoadLeavesNothingBehind() throws Exception {
        int cycles = Integer.getInteger("redeploy.cycles", 100);
        admin("feature:repo-add mvn:org.backplane/karaf-features/" + System.getProperty("backplane.version")
                + "/xml/features");
        admin("feature:install backplane");
        admin("bundle:install -s file:"
                + Path.of(System.getProperty("bundle.host")).toAbsolutePath());
        awaitCpuActive();

        admin("host:work " + WORK_THREADS);
        redeploy(WARM_UP_CYCLES);
        Map<String, String> warmUp = keyValues(admin("host:report").out());
        assertThat(warmUp.get("unexplained")).as("warm-up: %s", warmUp).isEqualTo("0");
        Map<String, String> before = settledVitals();
        System.out.println("[redeploy] baseline after " + WARM_UP_CYCLES + " warm-up cycles under load: " + before);

        admin("host:work " + WORK_THREADS);
        Instant start = Instant.now();
        redeploy(cycles);
        Duration took = Duration.between(start, Instant.now());
        Map<String, String> work = keyValues(admin("host:report").out());
        Map<String, String> after = settledVitals();
        boolean alive = karaf.jvm().map(ProcessHandle::isAlive).orElse(false);
        System.out.println("[redeploy] work: " + work);
        System.out.println("[redeploy] after: " + after);

        writeReport(cycles, took, before, after, work, alive);

        assertThat(alive).as("the Karaf JVM is alive").isTrue();
        assertThat(work.get("hung")).as("work threads that never returned").isEqualTo("0");
        assertThat(work.get("wrong")).as("ops with wrong results").isEqualTo("0");
        assertThat(work.get("unexplained"))
                .as("failures that were not Backplane exceptions: %s", work)
                .isEqualTo("0");
        long failed = Long.parseLong(work.get("failed"));
        assertThat(failed)
                .as("every failure is BACKEND_STOPPED: %s", work)
                .isEqualTo(Long.parseLong(work.getOrDefault("failed.BACKEND_STOPPED", "0")));
        assertThat(Long.parseLong(work.get("submitted")))
                .as("ops accounted for")
                .isEqualTo(Long.parseLong(work.get("completed")) + failed);
        assertThat(Long.parseLong(work.get("completed")))
                .as("work got done between redeploys")
                .isPositive();

        assertThat(after.get("removal.pending"))
                .as("bundles pending removal after refresh")
                .isEqualTo("0");
        for (String bsn : new String[] {"org.backplane.api", "org.backplane.cpu", "org.backplane.runtime"}) {
            assertThat(after.get("revisions." + bsn)).as("revisions of %s", bsn).isEqualTo("1");
            assertThat(after.get("wirings.in.use." + bsn))
                    .as("in-use wirings of %s", bsn)
                    .isEqualTo("1");
        }
        assertThat(Integer.parseInt(after.get("threads")))
                .as("live threads after the loop (baseline %s)", before.get("threads"))
                .isLessThanOrEqualTo(Integer.parseInt(before.get("threads")) + THREAD_SLACK);
        long nmtBefore = nativeOutsideHeapAndCodeCache(before);
        long nmtAfter = nativeOutsideHeapAndCodeCache(after);
        assertThat(nmtBefore).as("NMT is on").isPositive();
        assertThat(nmtAfter - nmtBefore)
                .as("native memory growth outside the Java heap and the JIT code cache over %d cycles, KB", cycles)
                .isLessThanOrEqualTo(NMT_SLACK_KB);

        assertThat(karaf.stop()).isZero();
    }

    private void writeReport(
            int cycles,
            Duration took,
            Map<String, String> before,
            Map<String, String> after,
            Map<String, String> work,
            boolean alive)
            throws Exception {
        String report = """
                # Karaf hot redeploy under load

                - date: %s
                - JVM: %s %s
                - command: `JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 ./mvnw -B verify -pl karaf-distribution -am -Dtest=none -Dit.test=KarafRedeployIT -Dsurefire.failIfNoSpecifiedTests=false -Dfailsafe.failIfNoSpecifiedTests=false -Dredeploy.cycles=%d`
                - load: %d threads on the CPU backend, each on its own stream, submitting ops throughout
                - cycle: what `bundle:update org.backplane.cpu; bundle:update org.backplane.runtime; bundle:refresh` calls (`host:redeploy N`, the whole loop in one console command), each cycle ending once the refresh has finished and the host holds the CPU backend again; `backplane:backend` shows cpu active after the loop

                | measure | before (after %d warm-up cycles under load) | after %d more cycles |
                |---|---|---|
                | live threads (of which Karaf shell-session threads) | %s (%s) | %s (%s) |
                | NMT committed, total (KB) | %s | %s |
                | NMT committed, without Java heap (KB) | %s | %s |
                | NMT committed, without Java heap and JIT code cache (KB): must stay within %d KB | %s | %s |
                | bundles pending removal | %s | %s |
                | revisions / in-use wirings of org.backplane.cpu | %s / %s | %s / %s |
                | revisions / in-use wirings of org.backplane.runtime | %s / %s | %s / %s |
                %s

                NMT categories are listed where they changed by 1 MB or more. Both columns are measured once Karaf's idle shell-session threads (60 s keep-alive) have retired, after a full GC.

                Loop time: %d s. JVM alive at the end: %s.

                Work, warm-up and measured cycles together: %s ops submitted, %s completed with correct results, %s failed (%s), %s wrong, %s unexplained, %s hung threads.
                """.formatted(
                        Instant.now(),
                        System.getProperty("java.vm.name"),
                        System.getProperty("java.version"),
                        cycles,
                        WORK_THREADS,
                        WARM_UP_CYCLES,
                        cycles,
                        before.get("threads"),
                        before.get("threads.shell.sessions"),
                        after.get("threads"),
                        after.get("threads.shell.sessions"),
                        before.get("nmt.committed.kb"),
                        after.get("nmt.committed.kb"),
                        before.get("nmt.committed.nonheap.kb"),
                        after.get("nmt.committed.nonheap.kb"),
                        NMT_SLACK_KB,
                        nativeOutsideHeapAndCodeCache(before),
                        nativeOutsideHeapAndCodeCache(after),
                        before.get("removal.pending"),
                        after.get("removal.pending"),
                        before.get("revisions.org.backplane.cpu"),
                        before.get("wirings.in.use.org.backplane.cpu"),
                        after.get("revisions.org.backplane.cpu"),
                        after.get("wirings.in.use.org.backplane.cpu"),
                        before.get("revisions.org.backplane.runtime"),
                        before.get("wirings.in.use.org.backplane.runtime"),
                        after.get("revisions.org.backplane.runtime"),
                        after.get("wirings.in.use.org.backplane.runtime"),
                        nmtCategories(before, after),
                        took.toSeconds(),
                        alive,
                        work.get("submitted"),
                        work.get("completed"),
                        work.get("failed"),
                        failureKinds(work),
                        work.get("wrong"),
                        work.get("unexplained"),
                        work.get("hung"));
        Path file = Path.of(System.getProperty("redeploy.report"));
        Files.writeString(file, report);
        System.out.println("[redeploy] report written to " + file);
    }

    /**
     * NMT committed outside the Java heap (GC tuning sizes it) and the JIT code cache (it fills with
     * code for each new revision's classes and is bounded by ReservedCodeCacheSize, 240 MB by
     * default): what a leaked arena, thread or class loader per cycle would grow.
     */
    private static long nativeOutsideHeapAndCodeCache(Map<String, String> vitals) {
        return Long.parseLong(vitals.get("nmt.committed.nonheap.kb"))
                - Long.parseLong(vitals.getOrDefault("nmt.category.Code.kb", "0"));
    }

    /** Table rows for the NMT categories that changed by 1 MB or more. */
    private static String nmtCategories(Map<String, String> before, Map<String, String> after) {
        StringBuilder sb = new StringBuilder();
        before.forEach((k, v) -> {
            if (k.startsWith("nmt.category.")
                    && after.containsKey(k)
                    && Math.abs(Long.parseLong(after.get(k)) - Long.parseLong(v)) >= 1024) {
                String name = k.substring("nmt.category.".length(), k.length() - ".kb".length())
                        .replace('_', ' ');
                sb.append("| NMT committed, ")
                        .append(name)
                        .append(" (KB) | ")
                        .append(v)
                        .append(" | ")
                        .append(after.get(k))
                        .append(" |\n");
            }
        });
        return sb.toString().stripTrailing();
    }

    private static String failureKinds(Map<String, String> work) {
        StringBuilder sb = new StringBuilder();
        work.forEach((k, v) -> {
            if (k.startsWith("failed.")) {
                sb.append(sb.isEmpty() ? "" : ", ")
                        .append(k.substring("failed.".length()))
                        .append(' ')
                        .append(v);
            }
        });
        return sb.isEmpty() ? "none" : sb.toString();
    }
}
