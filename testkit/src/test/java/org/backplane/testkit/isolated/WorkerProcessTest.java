package org.backplane.testkit.isolated;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.backplane.api.ComputeStream;
import org.backplane.api.WorkerProcess;
import org.backplane.cpu.CpuBackend;
import org.backplane.cpu.CpuSettings;
import org.backplane.cpu.internal.CpuWorkerBackend;
import org.backplane.isolation.internal.wire.Connection;
import org.backplane.isolation.internal.wire.Describe;
import org.backplane.isolation.internal.wire.Frame;
import org.backplane.isolation.internal.wire.FrameReader;
import org.backplane.isolation.internal.wire.Message;
import org.backplane.isolation.internal.worker.WorkerMain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No orphans, no intruders: a worker dies with its host, talks only to its host, and is gone after a
 * stop. Reads from a worker block until it answers or closes; one that does neither fails the test
 * by its timeout instead of hanging the build.
 */
@org.junit.jupiter.api.Timeout(120)
class WorkerProcessTest {

    @Test
    void aWorkerDiesWithItsHostHoweverTheHostDies() throws Exception {
        Process host = java(IsolatedHostMain.class.getName()).start();
        try (BufferedReader out =
                new BufferedReader(new InputStreamReader(host.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            do {
                line = out.readLine();
                assertThat(line)
                        .as("the host's output ended before it named its worker")
                        .isNotNull();
            } while (!line.startsWith("worker "));
            long worker = Long.parseLong(line.substring("worker ".length()).trim());
            assertThat(ProcessHandle.of(worker).map(ProcessHandle::isAlive)).contains(true);
            host.destroyForcibly(); // SIGKILL: the host runs no code at all as it dies
            host.waitFor();
            awaitGone(worker, Duration.ofSeconds(10));
        } finally {
            host.destroyForcibly();
        }
    }

    @Test
    void aWorkerAcceptsOnlyTheHostThatHoldsItsSecret(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("w.sock");
        Process worker = java(WorkerMain.class.getName(), socket.toString()).start();
        try {
            OutputStream stdin = worker.getOutputStream();
            stdin.write("the-secret\n".getBytes(StandardCharsets.US_ASCII));
            stdin.flush();
            awaitFile(socket);

            try (Connection intruder = connect(socket)) {
                intruder.send(new Frame(Message.HELLO).putString("a-guess"));
                assertThat(receiveOrEnd(intruder))
                        .as("an intruder gets no answer")
                        .isNull();
            }
            assertThat(worker.isAlive()).isTrue();

            try (Connection host = connect(socket)) {
                Frame hello = new Frame(Message.HELLO)
                        .putString("the-secret")
                        .putString("cpu")
                        .putString(CpuWorkerBackend.class.getName());
                Describe.strings(hello, Map.of("parallelism", "1", "kernels", "fast"));
                host.send(hello);
                FrameReader ready = host.receive();
                assertThat(ready.type()).isEqualTo(Message.READY);
                assertThat(ready.getLong()).isEqualTo(worker.pid());
                assertThat(Files.exists(socket))
                        .as("nobody else can connect once the host did")
                        .isFalse();
            }
            // The host's connection ended: the worker ends too.
            assertThat(worker.waitFor(10, java.util.concurrent.TimeUnit.SECONDS))
                    .isTrue();
        } finally {
            worker.destroyForcibly();
        }
    }

    @Test
    void theWorkersDirectoryIsPrivateAndAStopLeavesNothingBehind() throws Exception {
        CpuBackend backend = CpuBackend.start(CpuSettings.defaults(), IsolatedCpuFixture.isolation());
        Path dir = Path.of(backend.device().details().get("worker directory"));
        long pid = backend.feature(WorkerProcess.class).orElseThrow().status().pid();
        try (ComputeStream s = backend.openStream("private")) {
            assertThat(s.neg(s.upload(new float[] {1, 2}, 2)).download()).containsExactly(-1f, -2f);
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)))
                .isEqualTo("rwx------");
        backend.close();
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                .isFalse();
        assertThat(Files.exists(dir)).as("the private directory after stop").isFalse();
        assertThat(Thread.getAllStackTraces().keySet().stream().map(Thread::getName))
                .noneMatch(n -> n.startsWith("backplane-cpu-supervisor") || n.startsWith("backplane-cpu-worker-"));
    }

    private static ProcessBuilder java(String... args) {
        List<String> command = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path")));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
    }

    /** Connects, trying again while the socket is bound but not yet listening. */
    private static Connection connect(Path socket) throws IOException, InterruptedException {
        for (int attempt = 0; ; attempt++) {
            SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                channel.connect(UnixDomainSocketAddress.of(socket));
                return new Connection(channel);
            } catch (IOException e) {
                channel.close();
                if (attempt == 500) {
                    throw e;
                }
                Thread.sleep(10);
            }
        }
    }

    private static FrameReader receiveOrEnd(Connection c) {
        try {
            return c.receive();
        } catch (IOException e) {
            return null;
        }
    }

    private static void awaitFile(Path file) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!Files.exists(file)) {
            assertThat(System.nanoTime()).as("worker socket %s", file).isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    private static void awaitGone(long pid, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            assertThat(System.nanoTime()).as("worker %d outlived its host", pid).isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
