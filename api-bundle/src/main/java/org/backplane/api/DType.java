package org.backplane.api;

/** Element types of device arrays. */
public enum DType {
    /** IEEE 754 binary32. */
    FLOAT32(4);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }
}
