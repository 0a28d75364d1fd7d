package org.backplane.onnx.internal;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Every ONNX op Backplane runs, by op type (the default domain). */
final class Kernels {
    private static final Map<String, OpKernel> KERNELS = new HashMap<>();

    static {
        ElementwiseKernels.register(KERNELS);
        ShapeKernels.register(KERNELS);
        MathKernels.register(KERNELS);
        FusedKernels.register(KERNELS);
    }

    private Kernels() {}

    static OpKernel of(String opType) {
        return KERNELS.get(opType);
    }

    static Set<String> supported() {
        return new TreeSet<>(KERNELS.keySet());
    }
}
