package org.backplane.spi.internal.stream;

import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.backplane.api.StreamId;
import org.backplane.spi.MemoryPolicy;

/**
 * S12, decided here and nowhere else: the memory a backend's arrays hold, per stream and in all,
 * against the backend's limit, each stream's quota and the reserve kept for every other open
 * stream. An array is charged to its stream when it is created and credited when it is closed or
 * becomes unreachable — found through a reference queue drained on every charge, so that memory
 * comes back without the host calling {@code System.gc()}. One budget per backend instance.
 *
 * <p><b>A stream's reserve</b> follows what it really uses: the most its arrays held at once during
 * the current and the previous {@link #WINDOW}, never less than the configured minimum, and never
 * more than an equal share of the limit among the open streams and one more (so that a stream that
 * hoards cannot reserve everything, and there is always room to grow or to open a stream). A stream
 * that stays idle for two windows keeps only the minimum (or what it holds); a closed one keeps
 * nothing.
 *
 * <p><b>The rule</b>: a charge of {@code b} bytes to stream {@code s} is granted if {@code s} stays
 * within its quota, and either {@code s} stays within its own reserve and the memory is there, or
 * the backend's arrays stay within the limit less what every other open stream is still owed of its
 * reserve (its reserve less what it holds, if positive). So the memory held plus everything owed
 * never exceeds the limit through a charge, every stream can always allocate up to its reserve —
 * what it has recently used — and a stream that keeps allocating meets the others' reserves first.
 */
public final class MemoryBudget {
    private static final long MIB = 1L << 20;
    /** A reserve covers the peak of the current and the previous window of this length. */
    public static final Duration WINDOW = Duration.ofSeconds(60);
    /** Refusals name this many of the other streams, those owed the most first. */
    private static final int NAMED = 4;

    private final long limit;
    private final long minimumReserve;
    private final long defaultQuota;
    private final int highWaterPercent;
    private final long windowNanos;
    private final LongSupplier clock;
    private final ReferenceQueue<ArrayImpl> unreachable = new ReferenceQueue<>();
    /** Every charge not yet credited; keeps the phantom references themselves reachable. */
    private final Set<Charge> charges = ConcurrentHashMap.newKeySet();

    // guarded by this
    private long used;
    private long peak;
    /** What the open streams are still owed of their reserve, summed. */
    private long owed;

    private final Set<Account> open = new LinkedHashSet<>();
    private long nextRoll;

    public MemoryBudget(MemoryPolicy policy, long deviceBytes) {
        this(policy, deviceBytes, WINDOW, System::nanoTime);
    }

    /** With a window and a clock of the caller's: for tests of the window's rules. */
    MemoryBudget(MemoryPolicy policy, long deviceBytes, Duration window, LongSupplier clock) {
        this.limit = policy.limitBytes(deviceBytes);
        this.minimumReserve = policy.reserveMiB() * MIB;
        this.defaultQuota = policy.streamQuotaMiB() * MIB;
        this.highWaterPercent = policy.highWaterPercent();
        this.windowNanos = window.toNanos();
        this.clock = clock;
        this.nextRoll = clock.getAsLong() + windowNanos;
    }

    /** One stream's share of the budget; its fields are guarded by the budget. */
    static final class Account {
        final StreamId stream;
        final String label;
        final long quota;
        long used;
        /** The most its arrays held at once in the current window, and in the previous one. */
        long peakNow;

        long peakBefore;
        /** What it is owed now, as last added into the budget's sum. */
        long owedNow;

        boolean open = true;

        Account(StreamId stream, String label, long quota) {
            this.stream = stream;
            this.label = label;
            this.quota = quota;
        }

        String name() {
            return stream + (label.isEmpty() ? "" : " '" + label + "'");
        }
    }

    /** A charge for one array, credited once: when the array is closed or found unreachable. */
    static final class Charge extends PhantomReference<ArrayImpl> {
        final Account account;
        final long bytes;
        /** guarded by the budget */
        boolean credited;

        Charge(ArrayImpl array, ReferenceQueue<ArrayImpl> queue, Account account, long bytes) {
            super(array, queue);
            this.account = account;
            this.bytes = bytes;
        }
    }

    /** An account for a stream being opened; {@code quota} 0 takes the configured stream quota. */
    synchronized Account open(StreamId stream, String label, long quota) {
        Account a = new Account(stream, label, quota > 0 ? quota : defaultQuota);
        open.add(a);
        recount(); // one more open stream: every share is smaller
        return a;
    }

    /** The stream closed: it is owed no reserve any more. Its arrays stay charged until they go. */
    synchronized void closed(Account a) {
        if (a.open) {
            a.open = false;
            open.remove(a);
            recount();
        }
    }

    /**
     * Charges {@code bytes} of {@code array} to {@code a}. Returns null when granted, else why it was
     * refused (the quota, or the limit and the others' reserves), in words with the figures.
     */
    String charge(Account a, ArrayImpl array, long bytes) {
        reclaim();
        String refused = tryCharge(a, array, bytes);
        if (refused != null && !charges.isEmpty()) {
            // Arrays nobody holds any more may not have been collected yet: as the JDK does for its
            // direct buffers, ask for a collection and take back what it finds before refusing.
            System.gc();
            for (int i = 0; i < 4 && refused != null; i++) {
                try {
                    Reference<? extends ArrayImpl> r = unreachable.remove(25);
                    if (r != null) {
                        credit((Charge) r);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                reclaim();
                refused = tryCharge(a, array, bytes);
            }
        }
        return refused;
    }

    /** Whether {@code bytes} more would be granted to {@code a} now (no collection is asked for). */
    boolean fits(Account a, long bytes) {
        reclaim();
        synchronized (this) {
            return refusal(a, bytes) == null;
        }
    }

    private synchronized String tryCharge(Account a, ArrayImpl array, long bytes) {
        String refused = refusal(a, bytes);
        if (refused != null) {
            return refused;
        }
        add(a, bytes);
        peak = Math.max(peak, used);
        Charge c = new Charge(array, unreachable, a, bytes);
        charges.add(c);
        array.charge = c;
        return null;
    }

    /**
     * The rule, decided here alone: null if {@code a} may hold {@code bytes} more, else why not, in
     * words with the figures. The caller holds this budget's lock.
     */
    private String refusal(Account a, long bytes) {
        roll();
        if (a.quota > 0 && a.used + bytes > a.quota) {
            return String.format(
                    Locale.ROOT,
                    "the stream's memory quota refused it: the stream holds %s of its %s and this needs %s more",
                    mib(a.used),
                    mib(a.quota),
                    mib(bytes));
        }
        boolean withinReserve = a.open && a.used + bytes <= reserveOf(a);
        long owedToOthers = owed - (a.open ? a.owedNow : 0);
        if (withinReserve ? used + bytes > limit : used + bytes + owedToOthers > limit) {
            return String.format(
                    Locale.ROOT,
                    "the backend's memory limit refused it: this stream holds %s (its reserve: %s) and needs %s "
                            + "more; the backend's arrays hold %s of its %s limit%s",
                    mib(a.used),
                    mib(a.open ? reserveOf(a) : 0),
                    mib(bytes),
                    mib(used),
                    mib(limit),
                    withinReserve
                            ? " (this is within its reserve, but more streams were opened than the limit can keep "
                                    + "reserves for)"
                            : ", and " + mib(owedToOthers) + " is kept for the other open streams' reserves"
                                    + others(a));
        }
        return null;
    }

    /** The other streams owed the most, by name, with what they hold and are reserved. */
    private String others(Account a) {
        List<Account> owedTo = new ArrayList<>();
        for (Account o : open) {
            if (o != a && o.owedNow > 0) {
                owedTo.add(o);
            }
        }
        if (owedTo.isEmpty()) {
            return "";
        }
        owedTo.sort(Comparator.comparingLong((Account o) -> o.owedNow).reversed());
        StringBuilder sb = new StringBuilder(" (");
        for (int i = 0; i < Math.min(NAMED, owedTo.size()); i++) {
            Account o = owedTo.get(i);
            sb.append(i == 0 ? "" : "; ")
                    .append(o.name())
                    .append(" holds ")
                    .append(mib(o.used))
                    .append(" of its ")
                    .append(mib(reserveOf(o)))
                    .append(" reserve");
        }
        if (owedTo.size() > NAMED) {
            sb.append("; and ").append(owedTo.size() - NAMED).append(" more");
        }
        return sb.append(')').toString();
    }

    /** Adds {@code delta} bytes (negative: gives them back) to {@code a} and the backend, keeping what is owed in step. */
    private void add(Account a, long delta) {
        a.used += delta;
        a.peakNow = Math.max(a.peakNow, a.used);
        used += delta;
        if (a.open) {
            owe(a);
        }
    }

    /** Credits the charge of an array that was closed (its storage released); once. */
    void release(ArrayImpl array) {
        Charge c = array.charge;
        if (c != null) {
            credit(c);
        }
    }

    private synchronized void credit(Charge c) {
        if (c.credited) {
            return;
        }
        c.credited = true;
        charges.remove(c);
        add(c.account, -c.bytes);
        c.clear();
    }

    /** Credits every array found unreachable since the last look. Never blocks. */
    void reclaim() {
        Reference<? extends ArrayImpl> r;
        while ((r = unreachable.poll()) != null) {
            credit((Charge) r);
        }
    }

    /** What is kept for {@code a}: its recent peak, at least the minimum, at most an equal share. */
    private long reserveOf(Account a) {
        long share = limit / (open.size() + 1);
        return Math.min(share, Math.max(minimumReserve, Math.max(a.peakNow, a.peakBefore)));
    }

    /** Brings {@code a}'s part of the sum owed up to date. */
    private void owe(Account a) {
        long now = Math.max(0, reserveOf(a) - a.used);
        owed += now - a.owedNow;
        a.owedNow = now;
    }

    /** Every share changed (a stream opened or closed, a window ended): the sum owed, counted again. */
    private void recount() {
        owed = 0;
        for (Account a : open) {
            a.owedNow = 0;
            owe(a);
        }
    }

    /** Starts a new window when the current one has ended: what each stream used before it counts one window more. */
    private void roll() {
        long now = clock.getAsLong();
        if (now - nextRoll < 0) {
            return;
        }
        boolean idleSinceLast = now - nextRoll >= windowNanos;
        for (Account a : open) {
            a.peakBefore = idleSinceLast ? a.used : a.peakNow; // no roll for a whole window: nothing ran
            a.peakNow = a.used;
        }
        nextRoll = now + windowNanos;
        recount();
    }

    synchronized long used(Account a) {
        return a.used;
    }

    /** What is kept for {@code a} now (0 once it closed). */
    synchronized long reserve(Account a) {
        roll();
        return a.open ? reserveOf(a) : 0;
    }

    public long limit() {
        return limit;
    }

    /** The least reserve an open stream keeps. */
    public long reserve() {
        return minimumReserve;
    }

    public long defaultQuota() {
        return defaultQuota;
    }

    public int highWaterPercent() {
        return highWaterPercent;
    }

    /** What all arrays hold now, after taking back the unreachable ones. */
    public long used() {
        reclaim();
        synchronized (this) {
            return used;
        }
    }

    public synchronized long peak() {
        return peak;
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) MIB);
    }
}
