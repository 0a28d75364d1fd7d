package org.backplane.isolation.internal.wire;

import java.time.Instant;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.StreamId;

/**
 * A {@link StreamError} as it crosses the boundary: its fields, its upstream error, the text of the
 * throwable behind it, and — for an error that came from the other side and goes back — the token
 * under which that side keeps the original object, so that it gets its own object back.
 */
public record WireError(
        long token,
        ErrorKind kind,
        long nativeCode,
        String nativeText,
        String message,
        String failedOp,
        long sequence,
        long generation,
        Instant time,
        String thread,
        String causeText,
        WireError upstream) {

    public static WireError of(StreamError e, long token) {
        return new WireError(
                token,
                e.kind(),
                e.nativeCode(),
                e.nativeText(),
                e.message(),
                e.failedOp(),
                e.sequence(),
                e.generation(),
                e.time(),
                e.thread(),
                e.hostException() == null ? null : e.hostException().toString(),
                e.upstream() == null ? null : of(e.upstream(), 0));
    }

    /**
     * The error on this side, for {@code stream}. The upstream error of another stream keeps its own
     * stream's id, which this side does not know: it is given as the stream it came through.
     */
    public StreamError toError(String backendId, StreamId stream, String label, String op, String threadPrefix) {
        return new StreamError(
                backendId,
                stream,
                label,
                generation,
                kind,
                nativeCode,
                nativeText,
                message,
                op != null ? op : failedOp,
                sequence,
                time,
                threadPrefix + thread,
                upstream == null ? null : upstream.toError(backendId, stream, label, null, threadPrefix),
                causeText == null ? null : new WorkerSideException(causeText));
    }

    public void write(Frame f) {
        f.putLong(token)
                .putEnum(kind)
                .putLong(nativeCode)
                .putString(nativeText)
                .putString(message)
                .putString(failedOp)
                .putLong(sequence)
                .putLong(generation)
                .putLong(time.getEpochSecond())
                .putInt(time.getNano())
                .putString(thread)
                .putString(causeText);
        f.putBoolean(upstream != null);
        if (upstream != null) {
            upstream.write(f);
        }
    }

    public static WireError read(FrameReader in) {
        long token = in.getLong();
        ErrorKind kind = in.getEnum(ErrorKind.values());
        long code = in.getLong();
        String text = in.getString();
        String message = in.getString();
        String op = in.getString();
        long sequence = in.getLong();
        long generation = in.getLong();
        Instant time = Instant.ofEpochSecond(in.getLong(), in.getInt());
        String thread = in.getString();
        String cause = in.getString();
        WireError upstream = in.getBoolean() ? read(in) : null;
        return new WireError(token, kind, code, text, message, op, sequence, generation, time, thread, cause, upstream);
    }

    /** The throwable behind an error, as the other process described it. */
    public static final class WorkerSideException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        WorkerSideException(String description) {
            super(description, null, false, false);
        }
    }
}
