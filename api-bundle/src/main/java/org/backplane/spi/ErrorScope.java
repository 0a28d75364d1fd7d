package org.backplane.spi;

/** How far an error reaches, as the engine that met it knows (S9). */
public enum ErrorScope {
    /** Only the stream whose work failed. */
    STREAM,
    /**
     * The device context is gone (a CUDA sticky error, a removed GPU, a dead worker process): the SPI
     * poisons every stream of the backend and puts it in {@code DEVICE_LOST}.
     */
    DEVICE
}
