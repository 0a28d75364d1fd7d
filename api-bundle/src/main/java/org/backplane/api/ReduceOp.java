package org.backplane.api;

/** Reductions over one axis or over all elements. */
public enum ReduceOp {
    /** Sum; an empty sum is 0. */
    SUM,
    /** Maximum; NaN if any element is NaN. Reducing an empty axis is rejected (no identity). */
    MAX,
    /** Arithmetic mean; the mean of an empty axis is NaN (0/0). */
    MEAN;

    /** The op's lower-case name as used in op descriptions ({@code "sum"}). */
    public String opName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
