package org.backplane.spi.internal.backend;

import java.util.Collection;
import org.backplane.api.BackendState;
import org.backplane.api.DeviceLostException;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.StreamTransition;
import org.backplane.spi.BackendEngine;
import org.backplane.spi.internal.stream.Stream;

/**
 * S9, decided here and nowhere else: an error whose scope is the device poisons every stream of the
 * backend with a {@code DEVICE_LOST} error naming the cause and puts the backend in
 * {@link BackendState#DEVICE_LOST}; the next reset rebuilds the device if the engine can, or says
 * plainly what recovery needs.
 */
final class DeviceLoss {
    private static final System.Logger LOG = System.getLogger(DeviceLoss.class.getName());

    private final CoreBackend backend;
    private final BackendEngine engine;
    private volatile StreamError cause;

    DeviceLoss(CoreBackend backend, BackendEngine engine) {
        this.backend = backend;
        this.engine = engine;
    }

    /** The error that lost the device, while the backend is in {@code DEVICE_LOST}; else null. */
    StreamError cause() {
        return cause;
    }

    /** Poisons every stream and marks the backend. Any thread; never throws, never blocks (S1). */
    void lost(StreamError error, Collection<Stream> streams) {
        try {
            if (!backend.markDeviceLost()) {
                return;
            }
            cause = error;
            LOG.log(
                    System.Logger.Level.ERROR,
                    () -> "backend '" + backend.id() + "' lost its device: " + error.describe());
            for (Stream s : streams) {
                // A reset racing with this replaces the generation the error was built for; the
                // device is lost for the new generation too, so it gets an error of its own.
                for (int attempt = 0; attempt < 3; attempt++) {
                    StreamError e = s.error(ErrorKind.DEVICE_LOST)
                            .nativeCode(error.nativeCode())
                            .nativeText(error.nativeText())
                            .message("the " + backend.id() + " device was lost: every stream on it is poisoned")
                            .upstream(error)
                            .build();
                    if (s.raise(e) || s.snapshot().generation() == e.generation()) {
                        break;
                    }
                }
                s.publish(StreamTransition.Type.DEVICE_LOST, s.snapshot().state(), error);
            }
            engine.deviceLost(error);
        } catch (Throwable t) {
            try {
                LOG.log(System.Logger.Level.ERROR, "failure while handling device loss", t);
            } catch (Throwable ignored) {
                // never let this reach a driver thread
            }
        }
    }

    /**
     * Before a reset or a new stream: rebuilds a lost device, or throws what recovery needs. The
     * caller holds the backend's lifecycle lock.
     *
     * @throws DeviceLostException if the device is lost and the engine cannot rebuild it here
     */
    void recoverIfLost() {
        if (backend.state() != BackendState.DEVICE_LOST) {
            return;
        }
        if (!engine.canRebuildDevice()) {
            throw new DeviceLostException(backend.id(), cause, engine.deviceLossAdvice());
        }
        engine.rebuildDevice();
        cause = null;
        backend.markRunning();
        LOG.log(System.Logger.Level.INFO, () -> "backend '" + backend.id() + "' rebuilt its device after device loss");
    }
}
