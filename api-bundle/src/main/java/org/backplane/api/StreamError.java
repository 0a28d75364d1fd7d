package org.backplane.api;

import java.time.Instant;
import java.util.Objects;

/**
 * One captured failure, as the error slot of a stream keeps it (S2): which backend and stream,
 * what kind of failure, the native code and text exactly as the driver gave them, the op or
 * command buffer that failed with its sequence number, when, and on which thread it was captured.
 *
 * @param backendId the backend's {@code backend.id}
 * @param stream the stream whose slot holds the error
 * @param streamLabel the label the stream was opened with
 * @param generation the stream generation the error belongs to (see {@link StreamSnapshot#generation()})
 * @param kind the classification (S10)
 * @param nativeCode the driver's code unchanged (a {@code CUresult}, an {@code MTLCommandBufferError}
 *     code), or 0 where there is none
 * @param nativeText the driver's text unchanged (error name and description), or empty
 * @param message what happened, in words, for people
 * @param failedOp the op or command buffer that failed ({@code "matmul [512, 512] x [512, 512]"}),
 *     or empty if the failure is not tied to one
 * @param sequence the failed op's sequence number on its stream (1 is the first op the stream ever
 *     ran), or 0 if none
 * @param time when the error was captured
 * @param thread the name of the thread that captured it (a driver or worker thread)
 * @param upstream for {@link ErrorKind#UPSTREAM_FAILURE} and device loss, the error that caused
 *     this one on another stream; otherwise null
 * @param hostException the Java throwable behind a host-side failure (an {@link OutOfMemoryError},
 *     a kernel exception), or null
 */
public record StreamError(
        String backendId,
        StreamId stream,
        String streamLabel,
        long generation,
        ErrorKind kind,
        long nativeCode,
        String nativeText,
        String message,
        String failedOp,
        long sequence,
        Instant time,
        String thread,
        StreamError upstream,
        Throwable hostException) {

    public StreamError {
        Objects.requireNonNull(backendId, "backendId");
        Objects.requireNonNull(stream, "stream");
        Objects.requireNonNull(kind, "kind");
        streamLabel = streamLabel == null ? "" : streamLabel;
        nativeText = nativeText == null ? "" : nativeText;
        message = message == null ? "" : message;
        failedOp = failedOp == null ? "" : failedOp;
        time = time == null ? Instant.EPOCH : time;
        thread = thread == null ? "" : thread;
    }

    /** One line for logs and exception messages. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(kind).append(" on stream ").append(stream);
        if (!streamLabel.isEmpty()) {
            sb.append(" '").append(streamLabel).append('\'');
        }
        if (!failedOp.isEmpty()) {
            sb.append(" in ").append(failedOp);
        }
        if (sequence > 0) {
            sb.append(" (op #").append(sequence).append(')');
        }
        if (!message.isEmpty()) {
            sb.append(": ").append(message);
        }
        if (nativeCode != 0 || !nativeText.isEmpty()) {
            sb.append(" [native ").append(nativeCode);
            if (!nativeText.isEmpty()) {
                sb.append(' ').append(nativeText);
            }
            sb.append(']');
        }
        if (upstream != null) {
            sb.append(" <- caused by ")
                    .append(upstream.kind())
                    .append(" on stream ")
                    .append(upstream.stream());
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return describe();
    }
}
