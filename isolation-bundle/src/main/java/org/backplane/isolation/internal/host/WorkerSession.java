package org.backplane.isolation.internal.host;

import java.io.BufferedWriter;
import java.io.File;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.backplane.api.Capabilities;
import org.backplane.api.DeviceInfo;
import org.backplane.api.StreamError;
import org.backplane.isolation.internal.wire.Connection;
import org.backplane.isolation.internal.wire.Describe;
import org.backplane.isolation.internal.wire.Frame;
import org.backplane.isolation.internal.wire.FrameReader;
import org.backplane.isolation.internal.wire.Message;
import org.backplane.isolation.internal.wire.WireException;

/**
 * One worker process as the host sees it, from its start to its end: the process, the connection,
 * the thread that reads the worker's messages, the requests waiting for replies, and the streams
 * opened in it. It ends once ({@link #end}), whatever ends it — an exit, a crash, a hang, a device
 * loss, a stop — and then fails every waiting request and tells every stream, so nothing hangs.
 */
final class WorkerSession {
    private static final System.Logger LOG = System.getLogger(WorkerSession.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();

    final int number;
    final long pid;
    final DeviceInfo device;
    final Capabilities capabilities;
    final String backendId;
    private final Process process;
    private final Connection connection;
    private final Path log;
    private final IsolatedEngine engine;

    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong storages = new AtomicLong();
    private final AtomicLong tokenNumbers = new AtomicLong();
    private final ConcurrentHashMap<Long, CompletableFuture<FrameReader>> pending = new ConcurrentHashMap<>();
    /** Host errors handed to the worker, by token, so that the same object comes back. */
    private final ConcurrentHashMap<Long, StreamError> tokens = new ConcurrentHashMap<>();

    final ConcurrentHashMap<Long, RemoteStream> streams = new ConcurrentHashMap<>();
    private final AtomicReference<String> ended = new AtomicReference<>();
    private volatile long lastHeard = System.nanoTime();
    private volatile StreamError retiredFor;
    private volatile boolean stopping;
    private final Thread reader;

    private WorkerSession(
            IsolatedEngine engine, int number, Process process, Connection connection, Path log, FrameReader ready) {
        this.engine = engine;
        this.number = number;
        this.process = process;
        this.connection = connection;
        this.log = log;
        this.backendId = engine.id();
        this.pid = ready.getLong();
        this.device = Describe.device(ready);
        this.capabilities = Describe.capabilities(ready);
        this.reader = Thread.ofPlatform()
                .daemon()
                .name("backplane-" + backendId + "-worker-" + number + "-reader")
                .unstarted(this::read);
    }

    /**
     * Starts a worker and waits until its engine runs.
     *
     * @throws IllegalStateException saying why it did not start, with the end of its log
     */
    static WorkerSession start(IsolatedEngine engine, int number, Launch launch) {
        Path socket = launch.directory().resolve("w" + number + ".sock");
        Path log = launch.directory().resolve("worker-" + number + ".log");
        List<String> command = new ArrayList<>();
        command.add(launch.java().toString());
        command.addAll(launch.jvmOptions());
        command.add("-cp");
        command.add(String.join(
                File.pathSeparator,
                launch.classpath().stream().map(Path::toString).toList()));
        command.add(launch.mainClass());
        command.add(socket.toString());
        byte[] secretBytes = new byte[32];
        RANDOM.nextBytes(secretBytes);
        String secret = HexFormat.of().formatHex(secretBytes);
        Process process;
        try {
            process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start a worker JVM (" + launch.java() + "): " + e.getMessage(), e);
        }
        long deadline = System.nanoTime() + launch.startTimeout().toNanos();
        Connection connection = null;
        try {
            // The secret goes through the pipe, never the command line (which other users can read).
            // The pipe stays open: the worker exits when it closes, however the host ends.
            BufferedWriter stdin =
                    new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.US_ASCII));
            stdin.write(secret);
            stdin.newLine();
            stdin.flush();
            connection = connect(process, socket, deadline);
            Frame hello = new Frame(Message.HELLO)
                    .putString(secret)
                    .putString(launch.backendId())
                    .putString(launch.workerBackend());
            Describe.strings(hello, launch.configuration());
            connection.send(hello);
            FrameReader first = awaitReady(process, connection, deadline);
            if (first.type() == Message.START_FAILED) {
                throw new IllegalStateException(
                        "the worker could not start backend '" + launch.backendId() + "': " + first.getString());
            }
            if (first.type() != Message.READY) {
                throw new IllegalStateException("the worker answered " + first.type() + " instead of READY");
            }
            WorkerSession s = new WorkerSession(engine, number, process, connection, log, first);
            s.reader.start();
            return s;
        } catch (IOException | RuntimeException e) {
            process.destroyForcibly();
            if (connection != null) {
                connection.close();
            }
            waitFor(process, 2_000);
            String why = e instanceof IllegalStateException ? e.getMessage() : "the worker failed to start: " + e;
            throw new IllegalStateException(why + exitText(process) + logTail(log), e);
        }
    }

    private static Connection connect(Process process, Path socket, long deadline) throws IOException {
        for (; ; ) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the worker exited before it listened" + exitText(process));
            }
            if (Files.exists(socket)) {
                SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    channel.connect(UnixDomainSocketAddress.of(socket));
                    return new Connection(channel);
                } catch (IOException e) {
                    channel.close(); // bound but not yet listening: try again
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the worker did not listen within its start timeout");
            }
            Uninterruptible.sleep(5);
        }
    }

    /** Reads the worker's first answer; a worker that takes longer than the start timeout is killed. */
    private static FrameReader awaitReady(Process process, Connection connection, long deadline) throws IOException {
        Thread watchdog = Thread.ofVirtual().unstarted(() -> {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(left);
                } catch (InterruptedException e) {
                    return; // it answered
                }
            }
            process.destroyForcibly();
        });
        watchdog.start();
        try {
            return connection.receive();
        } finally {
            watchdog.interrupt();
        }
    }

    // ------------------------------------------------------------------ calls

    long newRequest() {
        return requests.incrementAndGet();
    }

    long newStorage() {
        return storages.incrementAndGet();
    }

    /** Keeps a host error for the worker to name when it hands the error back. */
    long token(StreamError error) {
        long t = tokenNumbers.incrementAndGet();
        tokens.put(t, error);
        return t;
    }

    StreamError untoken(long token) {
        return token == 0 ? null : tokens.remove(token);
    }

    /**
     * Sends a request and waits for its reply. Waits as long as the worker lives: the heartbeat ends a
     * worker that stops answering, and its end fails every waiting request.
     *
     * @throws WorkerGone if the worker ended before it replied
     */
    FrameReader call(long request, Frame frame) {
        CompletableFuture<FrameReader> reply = new CompletableFuture<>();
        pending.put(request, reply);
        try {
            if (ended.get() != null) {
                throw new WorkerGone(ended.get());
            }
            send(frame);
            return reply.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof WorkerGone g ? g : new WorkerGone(String.valueOf(e.getCause()));
        } finally {
            pending.remove(request);
        }
    }

    /** Sends a one-way message. @throws WorkerGone if the worker ended */
    void send(Frame frame) {
        String why = ended.get();
        if (why != null) {
            throw new WorkerGone(why);
        }
        try {
            connection.send(frame);
        } catch (IOException e) {
            end(describeExit("the connection to the worker broke (" + e.getMessage() + ")"));
            throw new WorkerGone(ended.get());
        }
    }

    /** Sends a message nobody waits on; a worker that ended is told nothing. */
    void sendQuietly(Frame frame) {
        try {
            send(frame);
        } catch (WorkerGone e) {
            // it ended: what it held is gone with it
        }
    }

    // ------------------------------------------------------------------ the reader

    private void read() {
        try {
            for (; ; ) {
                FrameReader in = connection.receive();
                lastHeard = System.nanoTime();
                dispatch(in);
            }
        } catch (IOException | WireException e) {
            end(describeExit(null));
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "reader of worker " + number + " of '" + backendId + "' failed", t);
            end(describeExit("the host's reader failed: " + t));
        }
    }

    private void dispatch(FrameReader in) {
        switch (in.type()) {
            case REPLY -> {
                CompletableFuture<FrameReader> waiting = pending.get(in.getLong());
                if (waiting != null) {
                    waiting.complete(in);
                }
            }
            case PONG -> {
                // lastHeard is all a pong says
            }
            case COMPLETED, FAILED, FAILED_UNEXPECTEDLY, DISCARDED, RAISED, AWAIT, INJECTED -> {
                RemoteStream s = streams.get(in.getLong());
                if (s != null) {
                    s.onMessage(this, in);
                }
            }
            default -> throw new WireException("a worker does not send " + in.type());
        }
    }

    // ------------------------------------------------------------------ health and end

    boolean isAlive() {
        return ended.get() == null;
    }

    /** The error that retired it, if a device loss did. */
    StreamError retiredFor() {
        return retiredFor;
    }

    long silentNanos() {
        return System.nanoTime() - lastHeard;
    }

    void ping() {
        sendQuietly(new Frame(Message.PING));
    }

    boolean readerAlive() {
        return reader.isAlive();
    }

    /** The device was lost (S9): the worker's context is useless now; it is killed and replaced at reset. */
    void retire(StreamError cause) {
        if (retiredFor == null) {
            retiredFor = cause;
        }
        process.destroyForcibly();
    }

    /** Kills a worker that stopped answering. */
    void hung(long silentMillis) {
        process.destroyForcibly();
        end("worker process " + pid + " stopped answering for " + silentMillis + " ms and was killed" + logTail(log));
    }

    /**
     * Ends the session once: the process is killed if it still runs, waiting requests fail, every
     * stream learns of it (its work in flight fails with DEVICE_LOST), and the engine counts the
     * loss unless the backend is stopping.
     */
    void end(String reason) {
        if (!ended.compareAndSet(null, reason)) {
            return;
        }
        process.destroyForcibly();
        connection.close();
        WorkerGone gone = new WorkerGone(reason);
        for (CompletableFuture<FrameReader> waiting : pending.values()) {
            waiting.completeExceptionally(gone);
        }
        if (stopping) {
            return;
        }
        LOG.log(System.Logger.Level.ERROR, () -> "backend '" + backendId + "': " + reason);
        for (RemoteStream s : streams.values()) {
            s.workerLost(this, reason);
        }
        engine.lost(reason);
    }

    /** What ended the process: its exit status or signal, or the retirement, with the end of its log. */
    private String describeExit(String context) {
        waitFor(process, 2_000);
        StreamError cause = retiredFor;
        String what = cause != null
                ? "worker process " + pid + " was retired after its device was lost (" + cause.describe() + ")"
                : "worker process " + pid + (process.isAlive() ? " closed its connection" : exitText(process));
        return what + (context == null ? "" : "; " + context) + (cause != null ? "" : logTail(log));
    }

    private static String exitText(Process p) {
        if (p.isAlive()) {
            return "";
        }
        int status = p.exitValue();
        if (status > 128 && status < 160) {
            int signal = status - 128;
            return " (killed by signal " + signal + signalName(signal) + ")";
        }
        return " (exited with status " + status + ")";
    }

    private static String signalName(int signal) {
        return switch (signal) {
            case 9 -> " SIGKILL";
            case 6 -> " SIGABRT";
            case 11 -> " SIGSEGV";
            case 15 -> " SIGTERM";
            case 7 -> " SIGBUS";
            default -> "";
        };
    }

    /** The last lines of the worker's log (a JVM crash report's summary lands there). */
    static String logTail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            List<String> tail = lines.subList(Math.max(0, lines.size() - 6), lines.size());
            List<String> kept = tail.stream().filter(l -> !l.isBlank()).toList();
            return kept.isEmpty() ? "" : "; its log (" + log + ") ends: " + String.join(" | ", kept);
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    private static void waitFor(Process p, long millis) {
        try {
            p.waitFor(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops the worker as the backend stops (S11): asks its engine to shut down and the process to
     * exit, then kills it if it has not within {@code timeout}, and joins the reader.
     */
    void stop(Duration timeout) {
        stopping = true;
        long request = newRequest();
        try {
            if (isAlive()) {
                CompletableFuture<FrameReader> reply = new CompletableFuture<>();
                pending.put(request, reply);
                send(new Frame(Message.SHUTDOWN).putLong(request).putLong(timeout.toMillis()));
                reply.get(Math.max(1, timeout.toMillis()) + 1_000, TimeUnit.MILLISECONDS);
            }
        } catch (Exception e) {
            // it ended, or does not answer: it is killed below
        } finally {
            pending.remove(request);
        }
        waitFor(process, 2_000);
        process.destroyForcibly();
        waitFor(process, 5_000);
        end("the backend was stopped");
        try {
            reader.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
