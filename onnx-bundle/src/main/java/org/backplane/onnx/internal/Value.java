package org.backplane.onnx.internal;

import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.api.Shape;
import org.backplane.cpu.reference.Tensor;

/**
 * A value flowing through a graph: on the host (a small tensor the shape computations produce and
 * consume, folded there by the reference kernels) or on the device (an array of the run's stream).
 */
sealed interface Value {
    DType dtype();

    Shape shape();

    /** A tensor on the host. */
    record Host(Tensor tensor) implements Value {
        @Override
        public DType dtype() {
            return tensor.dtype();
        }

        @Override
        public Shape shape() {
            return tensor.shape();
        }
    }

    /** An array on the device. */
    record Device(DeviceArray array) implements Value {
        @Override
        public DType dtype() {
            return array.dtype();
        }

        @Override
        public Shape shape() {
            return array.shape();
        }
    }
}
