package org.backplane.isolation.internal.wire;

/**
 * The messages between a host and its worker. Requests carry a number that their {@link #REPLY}
 * repeats; everything else is one-way. The order of the constants is the wire format (both sides
 * run the same jar).
 */
public enum Message {
    // host -> worker
    /** The secret, the backend id, the worker backend's class and its configuration. */
    HELLO,
    /** Request: open stream (number, label). */
    OPEN,
    /** A committed batch of one stream with all its ops. */
    COMMIT,
    /** Request: copy staged data into a new array's storage. */
    UPLOAD,
    /** Request: copy an array's data into the staging file. */
    DOWNLOAD,
    /** Storage the host no longer references (of one stream). */
    RELEASE,
    /** Request: reset a stream's native side (S7). */
    REBUILD,
    /** Request: close a stream. */
    CLOSE,
    /** Answer to the worker's {@link #AWAIT}: the error that makes an input unusable, or none. */
    AWAITED,
    /** Answer to the worker's {@link #INJECTED}: whether the op failed. */
    INJECTED_DONE,
    /** Heartbeat. */
    PING,
    /** Request: shut the engine down and exit. */
    SHUTDOWN,
    /** A host thread is about to wait for a batch: the engine may poll for its end (StreamEngine#expediteCompletion). */
    EXPEDITE,
    // worker -> host
    /** The engine started: pid, device, capabilities. */
    READY,
    /** The engine could not start: why. */
    START_FAILED,
    /** Answer to a request: ok, bad input, or an engine failure. */
    REPLY,
    COMPLETED,
    FAILED,
    FAILED_UNEXPECTEDLY,
    DISCARDED,
    /** An error no batch carries (S13: raised against the generation it was built for). */
    RAISED,
    /** The engine waits for inputs from other streams: the host answers with {@link #AWAITED}. */
    AWAIT,
    /** The engine realises injected faults: the host decides with its own rule and answers. */
    INJECTED,
    PONG,
    /** Threads the engine runs and bytes it pools, after each batch. */
    USAGE
}
