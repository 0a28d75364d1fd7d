package org.backplane.spi;

import org.backplane.api.ErrorKind;

/** How far an error reaches, as the engine that met it knows (S9). */
public enum ErrorScope {
    /** Only the stream whose work failed. */
    STREAM,
    /**
     * The device context is gone (a CUDA sticky error, a removed GPU, a dead worker process): the SPI
     * poisons every stream of the backend and puts it in {@code DEVICE_LOST}.
     */
    DEVICE;

    /**
     * The scope of an error known only by its kind (an injected fault, a driver's error code mapped
     * to a kind): the kinds that lose the device ({@link ErrorKind#isDeviceFatal}) reach it, the rest
     * only the stream. The one place this rule is written.
     */
    public static ErrorScope of(ErrorKind kind) {
        return kind.isDeviceFatal() ? DEVICE : STREAM;
    }
}
