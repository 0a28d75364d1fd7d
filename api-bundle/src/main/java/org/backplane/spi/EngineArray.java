package org.backplane.spi;

import org.backplane.api.DType;
import org.backplane.api.Shape;
import org.backplane.api.StreamId;
import org.osgi.annotation.versioning.ProviderType;

/**
 * An array as an engine sees it: its shape and type, the storage the engine binds to it, and the
 * batch whose work produces it. Hosts never hold this object; they hold the API's
 * {@code DeviceArray}, which the SPI keeps apart.
 */
@ProviderType
public interface EngineArray {
    Shape shape();

    DType dtype();

    /** Number of elements. */
    default long size() {
        return shape().size();
    }

    /** Bytes of its elements (of a view: its own elements, not the storage it shares). */
    default long byteSize() {
        return shape().size() * dtype().byteSize();
    }

    /**
     * Where its elements lie in its storage. Arrays an op produced are contiguous and row-major;
     * views of them share their storage with another offset and strides.
     */
    ArrayLayout layout();

    /** Whether its elements are contiguous and row-major from the start of its storage. */
    default boolean isRowMajor() {
        return layout().isRowMajor(shape());
    }

    /** The stream whose work produces it. */
    StreamId stream();

    /** The generation of that stream it belongs to. */
    long generation();

    /**
     * The batch whose work writes it, or null if its data was there at creation (an upload). Engines
     * use it to make a consumer on another stream wait for the producer.
     */
    CommandBatch producer();

    /**
     * The engine's storage for the data (of a view: the storage of the array it views).
     *
     * @throws IllegalStateException if no storage is bound yet, or it is not a {@code type}
     */
    <T extends ArrayStorage> T storage(Class<T> type);

    /** Whether the engine bound storage to it. */
    boolean hasStorage();

    /**
     * Binds the engine's storage, when the engine allocates or writes the data.
     *
     * @throws IllegalStateException for a view (it shares the storage of the array it views)
     */
    void bind(ArrayStorage storage);
}
