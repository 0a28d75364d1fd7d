package org.backplane.api;

/**
 * EventAdmin topics and property names for stream transitions. Events are posted asynchronously
 * and carry only String and primitive properties.
 */
public final class StreamEvents {
    private StreamEvents() {}

    /** Prefix of all stream topics. */
    public static final String TOPIC_PREFIX = "org/backplane/stream/";
    /** An error was captured ({@code ACTIVE → FAILED}). */
    public static final String TOPIC_FAILED = TOPIC_PREFIX + "FAILED";
    /** The error was reported ({@code FAILED → POISONED}). */
    public static final String TOPIC_POISONED = TOPIC_PREFIX + "POISONED";
    /** The stream was reset. */
    public static final String TOPIC_RESET = TOPIC_PREFIX + "RESET";
    /** The stream was closed. */
    public static final String TOPIC_CLOSED = TOPIC_PREFIX + "CLOSED";
    /** A backend lost its device. */
    public static final String TOPIC_DEVICE_LOST = "org/backplane/backend/DEVICE_LOST";
    /** All stream topics, for an {@code event.topics} filter. */
    public static final String TOPIC_ALL_STREAMS = TOPIC_PREFIX + "*";
    /**
     * A process-isolated backend's worker changed: started, lost, or down past its restart limit
     * (properties {@link #PROP_BACKEND_ID} and the {@code worker.*} ones below).
     */
    public static final String TOPIC_WORKER = "org/backplane/backend/WORKER";

    public static final String PROP_WORKER_STATE = "worker.state";
    public static final String PROP_WORKER_PID = "worker.pid";
    public static final String PROP_WORKER_STARTS = "worker.starts";
    public static final String PROP_WORKER_CRASHES = "worker.crashes";
    public static final String PROP_WORKER_LAST_CRASH = "worker.lastCrash";

    public static final String PROP_STREAM_ID = "stream.id";
    public static final String PROP_STREAM_LABEL = "stream.label";
    public static final String PROP_BACKEND_ID = "backend.id";
    public static final String PROP_STATE = "stream.state";
    public static final String PROP_PREVIOUS_STATE = "stream.previous.state";
    public static final String PROP_GENERATION = "stream.generation";
    /** What the stream's arrays held when the event was made, in bytes (a long; S12). */
    public static final String PROP_MEMORY_BYTES = "stream.memory.bytes";

    public static final String PROP_ERROR_KIND = "error.kind";
    public static final String PROP_ERROR_CODE = "error.native.code";
    public static final String PROP_ERROR_TEXT = "error.native.text";
    public static final String PROP_ERROR_MESSAGE = "error.message";
    public static final String PROP_ERROR_OP = "error.op";
    public static final String PROP_ERROR_SEQUENCE = "error.sequence";
    public static final String PROP_TIMESTAMP = "timestamp";

    /** The topic for a transition type. */
    public static String topic(StreamTransition.Type type) {
        return switch (type) {
            case FAILED -> TOPIC_FAILED;
            case POISONED -> TOPIC_POISONED;
            case RESET -> TOPIC_RESET;
            case CLOSED -> TOPIC_CLOSED;
            case DEVICE_LOST -> TOPIC_DEVICE_LOST;
            case OPENED -> TOPIC_PREFIX + "OPENED";
        };
    }
}
