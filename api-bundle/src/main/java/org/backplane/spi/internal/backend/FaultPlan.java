package org.backplane.spi.internal.backend;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamId;
import org.backplane.api.fault.FaultInjector;
import org.backplane.api.fault.FaultRule;
import org.backplane.api.fault.Hold;
import org.backplane.spi.internal.stream.Stream;

/** The fault injector of one backend instance. Exists only when fault injection is enabled. */
final class FaultPlan implements FaultInjector {
    private final CoreBackend backend;
    private final CopyOnWriteArrayList<FaultRule> rules = new CopyOnWriteArrayList<>();
    private final Map<String, Pattern> patterns = new ConcurrentHashMap<>();

    FaultPlan(CoreBackend backend, List<FaultRule> initial) {
        this.backend = backend;
        rules.addAll(initial);
    }

    @Override
    public void schedule(FaultRule rule) {
        rules.add(Objects.requireNonNull(rule, "rule"));
    }

    @Override
    public boolean remove(FaultRule rule) {
        return rules.remove(rule);
    }

    @Override
    public void clear() {
        rules.clear();
    }

    @Override
    public List<FaultRule> rules() {
        return List.copyOf(rules);
    }

    @Override
    public void raise(StreamId stream, ErrorKind kind, long nativeCode, String message) {
        Stream s = backend.requireStream(stream);
        s.raise(s.error(kind)
                .nativeCode(nativeCode)
                .message(message == null || message.isEmpty() ? "injected " + kind : message)
                .build());
    }

    @Override
    public Hold hold(StreamId stream) {
        return backend.requireStream(stream).hold();
    }

    /** The rule that picks op {@code sequence} of the stream, or null. */
    FaultRule match(StreamId id, String label, long sequence) {
        for (FaultRule rule : rules) {
            if (!matches(rule.stream(), id, label)) {
                continue;
            }
            if (rule.op() > 0 ? rule.op() == sequence : pick(rule.seed(), label, sequence) < rule.fraction()) {
                return rule;
            }
        }
        return null;
    }

    private boolean matches(String pattern, StreamId id, String label) {
        if (pattern.equals("*") || pattern.equals(id.toString())) {
            return true;
        }
        return patterns.computeIfAbsent(pattern, FaultPlan::glob).matcher(label).matches();
    }

    private static Pattern glob(String pattern) {
        StringBuilder regex = new StringBuilder();
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            switch (c) {
                case '*' -> regex.append(".*");
                case '?' -> regex.append('.');
                default -> regex.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(regex.toString());
    }

    /** A uniform value in [0, 1) that depends only on the seed, the label and the op's number. */
    static double pick(long seed, String label, long sequence) {
        long z = seed ^ (label.hashCode() * 0x9E3779B97F4A7C15L) ^ (sequence * 0xC2B2AE3D27D4EB4FL);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 11) * 0x1.0p-53;
    }
}
