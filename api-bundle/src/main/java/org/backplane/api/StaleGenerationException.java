package org.backplane.api;

/**
 * Thrown when an array, or work awaited, belongs to an earlier generation of its stream: resetting
 * a stream invalidates every array of the generation that failed, whatever state the work that
 * produced it was in (S7).
 */
public final class StaleGenerationException extends StreamException {
    private static final long serialVersionUID = 1L;

    private final long staleGeneration;
    private final long streamGeneration;
    private final transient StreamError error;

    public StaleGenerationException(
            StreamId stream, String what, long staleGeneration, long streamGeneration, StreamError error) {
        super(
                stream,
                what + " of generation " + staleGeneration + " of stream " + stream
                        + " was invalidated when the stream was reset (now at generation " + streamGeneration + ")"
                        + (error == null ? "" : "; that generation failed with " + error.describe())
                        + ". Recompute it on the reset stream.",
                error == null ? null : error.hostException());
        this.staleGeneration = staleGeneration;
        this.streamGeneration = streamGeneration;
        this.error = error;
    }

    /** The generation the array or work belonged to. */
    public long staleGeneration() {
        return staleGeneration;
    }

    /** The stream's generation when this was thrown. */
    public long streamGeneration() {
        return streamGeneration;
    }

    /** The error that ended the stale generation, or null. */
    public StreamError error() {
        return error;
    }
}
