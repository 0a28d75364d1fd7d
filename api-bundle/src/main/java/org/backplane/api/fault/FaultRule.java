package org.backplane.api.fault;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.backplane.api.ErrorKind;

/**
 * Which ops fail and how. A rule matches streams by label ({@code *} and {@code ?} wildcards) or by
 * id ({@code cpu:3}), and either one op by its sequence number on the stream (1 is the first op the
 * stream ever ran; the number keeps counting across resets) or a seeded random fraction of ops.
 * Whether the fraction picks an op depends only on the seed, the stream's label and the op's
 * sequence number, never on timing, so a run can be repeated exactly.
 *
 * <p>The text form, used in configuration ({@code faultInjection.rules}) and by {@link #parse}:
 * <pre>
 * stream=worker-3, op=5, kind=PAGE_FAULT, code=3
 * stream=*, fraction=0.02, seed=42, kind=TIMEOUT
 * </pre>
 *
 * @param stream a label pattern or a stream id
 * @param op the sequence number of the op to fail, or 0 for a fraction rule
 * @param fraction the share of ops to fail (0 to 1) for a fraction rule, 0 for an op rule
 * @param seed the seed of a fraction rule
 * @param kind the kind of the injected error
 * @param nativeCode the native code the injected error carries
 * @param message the injected error's message; empty for a default
 */
public record FaultRule(
        String stream, long op, double fraction, long seed, ErrorKind kind, long nativeCode, String message) {

    public FaultRule {
        Objects.requireNonNull(stream, "stream");
        Objects.requireNonNull(kind, "kind");
        message = message == null ? "" : message;
        if (stream.isBlank()) {
            throw new IllegalArgumentException("fault rule needs a stream pattern ('*' for all streams)");
        }
        if (op < 0) {
            throw new IllegalArgumentException("fault rule op must be a positive sequence number but was " + op);
        }
        if (!(fraction >= 0 && fraction <= 1)) {
            throw new IllegalArgumentException("fault rule fraction must be between 0 and 1 but was " + fraction);
        }
        if ((op > 0) == (fraction > 0)) {
            throw new IllegalArgumentException(
                    "a fault rule names either one op (op=N) or a fraction of ops (fraction=F), not "
                            + (op > 0 ? "both" : "neither"));
        }
    }

    /** Fails the {@code op}-th op of matching streams. */
    public static FaultRule atOp(String stream, long op, ErrorKind kind) {
        return new FaultRule(stream, op, 0, 0, kind, 0, "");
    }

    /** Fails a seeded random fraction of the ops of matching streams. */
    public static FaultRule fraction(String stream, double fraction, long seed, ErrorKind kind) {
        return new FaultRule(stream, 0, fraction, seed, kind, 0, "");
    }

    /** The same rule with another native code. */
    public FaultRule withNativeCode(long code) {
        return new FaultRule(stream, op, fraction, seed, kind, code, message);
    }

    /** The same rule with another message. */
    public FaultRule withMessage(String text) {
        return new FaultRule(stream, op, fraction, seed, kind, nativeCode, text);
    }

    /**
     * Parses configured rules (a configuration's {@code faultInjection.rules}), skipping blank entries.
     *
     * @throws IllegalArgumentException naming what is wrong with a rule
     */
    public static List<FaultRule> parseAll(String... texts) {
        List<FaultRule> rules = new ArrayList<>();
        for (String text : texts) {
            if (!text.isBlank()) {
                rules.add(parse(text));
            }
        }
        return List.copyOf(rules);
    }

    /**
     * Parses the text form ({@code key=value} pairs separated by commas).
     *
     * @throws IllegalArgumentException naming what is wrong with the text
     */
    public static FaultRule parse(String text) {
        Objects.requireNonNull(text, "text");
        Map<String, String> values = new LinkedHashMap<>();
        for (String part : text.split(",", -1)) {
            if (part.isBlank()) {
                continue;
            }
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("fault rule '" + text + "': '" + part.trim() + "' is not key=value");
            }
            String key = part.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            if (values.put(key, part.substring(eq + 1).trim()) != null) {
                throw new IllegalArgumentException("fault rule '" + text + "': '" + key + "' is given twice");
            }
        }
        for (String key : values.keySet()) {
            if (!Map.of("stream", 0, "op", 0, "fraction", 0, "seed", 0, "kind", 0, "code", 0, "message", 0)
                    .containsKey(key)) {
                throw new IllegalArgumentException("fault rule '" + text + "': unknown key '" + key
                        + "' (known: stream, op, fraction, seed, kind, code, message)");
            }
        }
        String kindText = values.get("kind");
        if (kindText == null) {
            throw new IllegalArgumentException("fault rule '" + text + "' needs kind=<one of "
                    + java.util.Arrays.toString(ErrorKind.values()) + ">");
        }
        ErrorKind kind;
        try {
            kind = ErrorKind.valueOf(kindText.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("fault rule '" + text + "': unknown kind '" + kindText + "' (known: "
                    + java.util.Arrays.toString(ErrorKind.values()) + ")");
        }
        try {
            return new FaultRule(
                    values.getOrDefault("stream", "*"),
                    Long.parseLong(values.getOrDefault("op", "0")),
                    Double.parseDouble(values.getOrDefault("fraction", "0")),
                    Long.parseLong(values.getOrDefault("seed", "0")),
                    kind,
                    Long.parseLong(values.getOrDefault("code", "0")),
                    values.getOrDefault("message", ""));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("fault rule '" + text + "': " + e.getMessage());
        }
    }

    /** The text form, which {@link #parse} reads back. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("stream=").append(stream);
        if (op > 0) {
            sb.append(", op=").append(op);
        } else {
            sb.append(", fraction=").append(fraction).append(", seed=").append(seed);
        }
        sb.append(", kind=").append(kind);
        if (nativeCode != 0) {
            sb.append(", code=").append(nativeCode);
        }
        if (!message.isEmpty()) {
            sb.append(", message=").append(message);
        }
        return sb.toString();
    }
}
