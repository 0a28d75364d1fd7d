package org.backplane.karaf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;

/**
 * One run of the built Karaf distribution: a fresh copy of {@code target/assembly} with its own
 * ports, started on the JDK that runs the test, driven over SSH on loopback, stopped at the end.
 */
final class KarafInstance implements AutoCloseable {
    static final Duration START_BOUND = Duration.ofMinutes(3);
    static final Duration COMMAND_BOUND = Duration.ofMinutes(2);
    /** Connect, authenticate, open: generous, since the redeploy test keeps both cores busy. */
    static final Duration SSH_BOUND = Duration.ofSeconds(90);

    /** What a console command printed, and its exit status (non-zero when it threw or was refused). */
    record Exec(int status, String out, String err) {
        String all() {
            return out + err;
        }
    }

    private final Path home;
    private final int sshPort;
    private final Process process;
    private final SshClient ssh;

    private KarafInstance(Path home, int sshPort, Process process, SshClient ssh) {
        this.home = home;
        this.sshPort = sshPort;
        this.process = process;
        this.ssh = ssh;
    }

    /** Copies the assembly to {@code target/<name>}, gives it free ports, starts it, and waits until SSH answers. */
    static KarafInstance start(String name, String extraJavaOpts) throws Exception {
        Path assembly = Path.of(System.getProperty("karaf.home"));
        Path home = assembly.resolveSibling(name);
        deleteRecursively(home);
        copyRecursively(assembly, home);
        int sshPort = freePort();
        setProperty(home.resolve("etc/org.apache.karaf.shell.cfg"), "sshPort", String.valueOf(sshPort));
        setProperty(home.resolve("etc/org.apache.karaf.management.cfg"), "rmiRegistryPort", String.valueOf(freePort()));
        setProperty(home.resolve("etc/org.apache.karaf.management.cfg"), "rmiServerPort", String.valueOf(freePort()));

        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/karaf").toString(), "server");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home.for.karaf"));
        pb.environment().put("EXTRA_JAVA_OPTS", extraJavaOpts);
        pb.environment().remove("JAVA_OPTS"); // the distribution's bin/setenv sets its own
        pb.redirectErrorStream(true).redirectOutput(home.resolve("console.log").toFile());
        Process process = pb.start();

        SshClient ssh = SshClient.setUpDefaultClient();
        ssh.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE); // loopback, a host key made on first start
        ssh.start();
        KarafInstance karaf = new KarafInstance(home, sshPort, process, ssh);
        long deadline = System.nanoTime() + START_BOUND.toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new IllegalStateException("Karaf exited during start-up with status " + process.exitValue()
                        + "; see " + home.resolve("console.log"));
            }
            try {
                if (karaf.exec("karaf", "karaf", "bundle:list -t 0").out().contains("Apache Karaf :: Shell :: SSH")) {
                    return karaf;
                }
            } catch (IOException notYet) {
                // SSH not listening yet
            }
            if (System.nanoTime() > deadline) {
                karaf.close();
                throw new IllegalStateException("Karaf's SSH did not answer within " + START_BOUND + "; see "
                        + home.resolve("data/log/karaf.log"));
            }
            Thread.sleep(500);
        }
    }

    /**
     * Runs one command line over an SSH exec channel as {@code user}. If SSH does not answer in
     * time, a thread dump of the Karaf JVM is saved beside its log before the failure is thrown.
     */
    Exec exec(String user, String password, String command) throws IOException {
        return exec(user, password, command, COMMAND_BOUND);
    }

    /** {@link #exec(String, String, String)} with a bound of its own for the command to finish. */
    Exec exec(String user, String password, String command, Duration bound) throws IOException {
        try {
            return execOnce(user, password, command, bound);
        } catch (IOException e) {
            if (process.isAlive() && e.getMessage() != null && e.getMessage().contains("timeout")) {
                dumpThreads();
            }
            throw e;
        }
    }

    /**
     * Runs {@code command} until its output satisfies {@code done} or {@code bound} passes (Config
     * Admin updates and bundle refreshes are asynchronous); returns the last run.
     */
    Exec until(String user, String password, String command, Predicate<String> done, Duration bound) throws Exception {
        long deadline = System.nanoTime() + bound.toNanos();
        Exec last = exec(user, password, command);
        while (!done.test(last.all()) && System.nanoTime() < deadline) {
            Thread.sleep(100);
            last = exec(user, password, command);
        }
        return last;
    }

    private void dumpThreads() {
        System.out.println(
                "[karaf] SSH timed out; " + threadDump().lines().findFirst().orElse(""));
    }

    /**
     * The Karaf JVM's threads ({@code jcmd Thread.print}), also kept in a file in Karaf's home: the
     * first line says where. Diagnostics only: never throws.
     */
    String threadDump() {
        return jvm().map(j -> {
                    try {
                        Path jcmd = Path.of(System.getProperty("java.home.for.karaf"), "bin", "jcmd");
                        Path dump = home.resolve("threads-" + System.currentTimeMillis() + ".txt");
                        new ProcessBuilder(jcmd.toString(), String.valueOf(j.pid()), "Thread.print")
                                .redirectOutput(dump.toFile())
                                .start()
                                .waitFor(60, TimeUnit.SECONDS);
                        return "thread dump in " + dump + "\n" + Files.readString(dump);
                    } catch (Exception e) {
                        return "no thread dump: " + e;
                    }
                })
                .orElse("no thread dump: the Karaf JVM is gone");
    }

    private Exec execOnce(String user, String password, String command, Duration bound) throws IOException {
        try (ClientSession session =
                ssh.connect(user, "127.0.0.1", sshPort).verify(SSH_BOUND).getSession()) {
            session.addPasswordIdentity(password);
            session.auth().verify(SSH_BOUND);
            try (ChannelExec channel = session.createExecChannel(command)) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                ByteArrayOutputStream err = new ByteArrayOutputStream();
                channel.setOut(out);
                channel.setErr(err);
                channel.open().verify(SSH_BOUND);
                channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), bound);
                Integer status = channel.getExitStatus();
                return new Exec(status == null ? -1 : status, clean(out), clean(err));
            }
        }
    }

    private static String clean(ByteArrayOutputStream bytes) {
        return bytes.toString(StandardCharsets.UTF_8).replace("\r", "").replaceAll("\u001B\\[[0-9;?]*[a-zA-Z]", "");
    }

    /** The Karaf JVM (bin/karaf runs java as a child of its shell script). */
    Optional<ProcessHandle> jvm() {
        return process.descendants()
                .filter(p -> p.info().command().map(c -> c.endsWith("/java")).orElse(false))
                .findFirst();
    }

    Path home() {
        return home;
    }

    String log() throws IOException {
        Path log = home.resolve("data/log/karaf.log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    /** Stops Karaf the way an operator does (system:shutdown as admin) and waits for the JVM to exit. */
    int stop() throws Exception {
        try {
            exec("karaf", "karaf", "system:shutdown -f");
        } catch (IOException sessionCutByShutdown) {
            // the shutdown may close the connection before the exit status arrives
        }
        if (!process.waitFor(2, TimeUnit.MINUTES)) {
            throw new IllegalStateException("Karaf did not stop within 2 minutes after system:shutdown");
        }
        return process.exitValue();
    }

    @Override
    public void close() throws IOException {
        ssh.stop();
        if (process.isAlive()) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            try {
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Replaces {@code key = value} in a Karaf .cfg file (the key must be there). */
    private static void setProperty(Path cfg, String key, String value) throws IOException {
        List<String> lines = Files.readAllLines(cfg);
        boolean found = false;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).matches("\\s*" + key + "\\s*=.*")) {
                lines.set(i, key + " = " + value);
                found = true;
            }
        }
        if (!found) {
            throw new IllegalStateException(cfg + " has no " + key);
        }
        Files.write(cfg, lines);
    }

    private static void copyRecursively(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted((a, b) -> b.compareTo(a)).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
