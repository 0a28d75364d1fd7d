package org.backplane.spi;

import java.time.Instant;
import java.util.Objects;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.StreamId;
import org.backplane.api.fault.FaultRule;

/**
 * Builds the {@link StreamError} a stream captures, stamped with the backend, stream, generation,
 * time and capturing thread. Obtained from {@link StreamSink#error(ErrorKind)}.
 */
public final class ErrorBuilder {
    private final String backendId;
    private final StreamId stream;
    private final String label;
    private final long generation;
    private final ErrorKind kind;
    private long nativeCode;
    private String nativeText = "";
    private String message = "";
    private Command command;
    private CommandBatch batch;
    private StreamError upstream;
    private Throwable cause;

    /**
     * @param generation the generation the error belongs to unless the failed op or batch says
     *     another
     */
    public ErrorBuilder(String backendId, StreamId stream, String label, long generation, ErrorKind kind) {
        this.backendId = Objects.requireNonNull(backendId, "backendId");
        this.stream = Objects.requireNonNull(stream, "stream");
        this.label = label;
        this.generation = generation;
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    /** The driver's code, unchanged. */
    public ErrorBuilder nativeCode(long code) {
        this.nativeCode = code;
        return this;
    }

    /** The driver's text (error name and description), unchanged. */
    public ErrorBuilder nativeText(String text) {
        this.nativeText = text;
        return this;
    }

    public ErrorBuilder message(String text) {
        this.message = text;
        return this;
    }

    /** The op that failed (sets the failed op, its sequence number and generation). */
    public ErrorBuilder command(Command failed) {
        this.command = failed;
        return this;
    }

    /** The batch that failed (used for the failed op when no single op is known). */
    public ErrorBuilder batch(CommandBatch failed) {
        this.batch = failed;
        return this;
    }

    public ErrorBuilder upstream(StreamError origin) {
        this.upstream = origin;
        return this;
    }

    /** The Java throwable behind a host-side failure. */
    public ErrorBuilder cause(Throwable throwable) {
        this.cause = throwable;
        return this;
    }

    /**
     * The error an injected fault stands for: its native code, "injected" as native text, and its
     * message or one naming the rule. The one place injected errors are described.
     */
    public ErrorBuilder injected(FaultRule rule) {
        this.nativeCode = rule.nativeCode();
        this.nativeText = "injected";
        this.message = injectedMessage(rule);
        return this;
    }

    /** The message of an injected fault: the rule's own, or one naming the rule. */
    public static String injectedMessage(FaultRule rule) {
        return rule.message().isEmpty() ? "injected " + rule.kind() + " fault (rule: " + rule + ")" : rule.message();
    }

    public StreamError build() {
        String op = command != null ? command.describe() : batch != null ? batch.describe() : "";
        long sequence = command != null ? command.sequence() : batch != null ? batch.firstSequence() : 0;
        long g = command != null ? command.output().generation() : batch != null ? batch.generation() : generation;
        return new StreamError(
                backendId,
                stream,
                label,
                g,
                kind,
                nativeCode,
                nativeText,
                message,
                op,
                sequence,
                Instant.now(),
                Thread.currentThread().getName(),
                upstream,
                cause);
    }
}
