package org.backplane.isolation.internal.worker;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import org.backplane.isolation.internal.wire.Connection;
import org.backplane.isolation.internal.wire.FrameReader;
import org.backplane.isolation.internal.wire.Message;

/**
 * The worker process's entry point. It reads its secret from standard input, listens on the socket
 * its host named (in the host's private directory), accepts the first connection that presents the
 * secret and no other, then serves that host until it says stop. It dies with its host: when
 * standard input (a pipe from the host) closes, however the host ended, the worker halts at once.
 */
public final class WorkerMain {
    private WorkerMain() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: WorkerMain <socket path>  (started by Backplane's isolated backends)");
            System.exit(2);
        }
        Path socket = Path.of(args[0]);
        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        String secret = stdin.readLine();
        if (secret == null || secret.isBlank()) {
            System.err.println("no secret on standard input: a worker is started by its host only");
            System.exit(2);
        }
        Thread.ofPlatform().daemon().name("backplane-worker-host-watch").start(() -> watchHost(stdin));
        Accepted host = acceptHost(socket, secret);
        new WorkerServer(host.connection()).serve(host.hello());
    }

    /** Blocks until the host's pipe closes, then ends the process: no worker outlives its host. */
    private static void watchHost(BufferedReader stdin) {
        try {
            while (stdin.read() >= 0) {
                // the host writes nothing more; only the end of the pipe matters
            }
        } catch (IOException e) {
            // the pipe broke: the host is gone just the same
        }
        WorkerExit.halt(0, "the host's pipe closed: the host is gone");
    }

    private record Accepted(Connection connection, FrameReader hello) {}

    private static Accepted acceptHost(Path socket, String secret) throws IOException {
        byte[] expected = secret.getBytes(StandardCharsets.US_ASCII);
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            for (; ; ) {
                Connection c = new Connection(server.accept());
                try {
                    FrameReader hello = c.receive();
                    String offered = hello.type() == Message.HELLO ? hello.getString() : null;
                    if (offered != null
                            && MessageDigest.isEqual(offered.getBytes(StandardCharsets.US_ASCII), expected)) {
                        Files.deleteIfExists(socket); // nobody else can connect from now on
                        return new Accepted(c, hello);
                    }
                } catch (IOException | RuntimeException e) {
                    // not our host: refuse it and keep waiting for ours
                }
                System.err.println("refused a connection without the host's secret");
                c.close();
            }
        }
    }
}
