package org.backplane.benchmarks;

import java.util.List;
import java.util.Locale;

/** The small summaries both reports print. */
final class Stats {
    private Stats() {}

    /** "0.25, 0.20, 0.24": the values with two decimals, in run order. */
    static String seconds(List<Double> values) {
        return String.join(
                ", ",
                values.stream().map(v -> String.format(Locale.ROOT, "%.2f", v)).toList());
    }

    static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
