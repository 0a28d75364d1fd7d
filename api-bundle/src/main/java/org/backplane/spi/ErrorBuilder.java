package org.backplane.spi;

import java.time.Instant;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;

/**
 * Builds the {@link StreamError} an engine captures, filling in the stream, generation, time and
 * capturing thread. Obtained from {@link StreamCore#error(ErrorKind)}.
 */
public final class ErrorBuilder {
    private final StreamCore stream;
    private final ErrorKind kind;
    private long nativeCode;
    private String nativeText = "";
    private String message = "";
    private Command command;
    private CommandBatch batch;
    private StreamError upstream;
    private Throwable cause;

    ErrorBuilder(StreamCore stream, ErrorKind kind) {
        this.stream = stream;
        this.kind = kind;
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

    /** The op that failed (sets the failed op and sequence number). */
    public ErrorBuilder command(Command failed) {
        this.command = failed;
        return this;
    }

    /** The batch that failed (used for the failed op when no single op is known). */
    public ErrorBuilder batch(CommandBatch failed) {
        this.batch = failed;
        return this;
    }

    public ErrorBuilder upstream(StreamError cause) {
        this.upstream = cause;
        return this;
    }

    /** The Java throwable behind a host-side failure. */
    public ErrorBuilder cause(Throwable throwable) {
        this.cause = throwable;
        return this;
    }

    public StreamError build() {
        String op = command != null ? command.describe() : batch != null ? batch.describe() : "";
        long sequence = command != null ? command.sequence() : batch != null ? batch.firstSequence() : 0;
        Generation g = command != null ? command.output().generation : batch != null ? batch.generation : stream.currentGeneration();
        return new StreamError(stream.backendCore().id(), stream.id(), stream.label(), g.number, kind, nativeCode, nativeText,
                message, op, sequence, Instant.now(), Thread.currentThread().getName(), upstream, cause);
    }
}
