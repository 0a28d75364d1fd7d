package org.backplane.cuda.internal;

import java.util.Set;
import org.backplane.api.ErrorKind;

/** What a {@code CUresult} means for the stream error contract. */
final class CudaError {
    static final int SUCCESS = 0;
    static final int INVALID_VALUE = 1;
    static final int OUT_OF_MEMORY = 2;
    static final int NOT_READY = 600;
    static final int ILLEGAL_ADDRESS = 700;

    /**
     * Errors that corrupt the context: every later call in the process fails with the same code and
     * the context cannot be rebuilt (CUDA documents 700, 702, 714-719 and an uncorrectable ECC error
     * as such; seen on this project's H100: after 700 even cuCtxCreate returns 700).
     */
    static final Set<Integer> STICKY = Set.of(214, 700, 702, 714, 715, 716, 717, 718, 719, 999);

    private CudaError() {}

    static boolean isSticky(int code) {
        return STICKY.contains(code);
    }

    /** Errors that mean the caller asked for something the device refuses: bad input, not a fault. */
    static boolean isBadInput(int code) {
        return code == INVALID_VALUE
                || code == 701 /* launch out of resources */
                || code == 9 /* invalid configuration */
                || code == 720 /* cooperative launch too large */;
    }

    static ErrorKind kind(int code) {
        return switch (code) {
            case OUT_OF_MEMORY -> ErrorKind.OUT_OF_MEMORY;
            case ILLEGAL_ADDRESS, 716, 717 -> ErrorKind.PAGE_FAULT;
            case 702 -> ErrorKind.TIMEOUT;
            case 714, 715, 718, 719, 214, 999 -> ErrorKind.DEVICE_LOST;
            case 200, 209, 218, 222 -> ErrorKind.KERNEL_COMPILE;
            case INVALID_VALUE, 9, 701, 720 -> ErrorKind.INVALID_ARGUMENT;
            default -> ErrorKind.INTERNAL;
        };
    }
}
