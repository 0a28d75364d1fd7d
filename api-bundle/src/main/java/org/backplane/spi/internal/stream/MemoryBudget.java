package org.backplane.spi.internal.stream;

import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.backplane.spi.MemoryPolicy;

/**
 * S12, decided here and nowhere else: the memory a backend's arrays hold, per stream and in all,
 * against the backend's limit, each stream's quota and the reserve kept for every other open
 * stream. An array is charged to its stream when it is created and credited when it is closed or
 * becomes unreachable — found through a reference queue drained on every charge, so that memory
 * comes back without the host calling {@code System.gc()}. One budget per backend instance.
 *
 * <p>The rule: a charge of {@code b} bytes to stream {@code s} is granted if {@code s} stays within
 * its quota, and the backend's arrays stay within the limit less what the other open streams are
 * still owed of their reserve (each: the reserve less what it holds, if positive; all together at
 * most half the limit); a charge that keeps a stream within its own reserve needs only the memory
 * itself. So a stream that
 * keeps allocating meets its own limit first, and every other stream can always allocate up to its
 * reserve.
 */
public final class MemoryBudget {
    private static final long MIB = 1L << 20;

    private final long limit;
    private final long reserve;
    private final long defaultQuota;
    private final int highWaterPercent;
    private final ReferenceQueue<ArrayImpl> unreachable = new ReferenceQueue<>();
    /** Every charge not yet credited; keeps the phantom references themselves reachable. */
    private final Set<Charge> charges = ConcurrentHashMap.newKeySet();

    // guarded by this
    private long used;
    private long peak;
    /** What the open streams are still owed of their reserve, summed. */
    private long owed;

    public MemoryBudget(MemoryPolicy policy, long deviceBytes) {
        this.limit = policy.limitBytes(deviceBytes);
        this.reserve = policy.reserveMiB() * MIB;
        this.defaultQuota = policy.streamQuotaMiB() * MIB;
        this.highWaterPercent = policy.highWaterPercent();
    }

    /** One stream's share of the budget. */
    static final class Account {
        final long quota;
        /** guarded by the budget */
        long used;
        /** Open (owed its reserve); guarded by the budget. */
        boolean open = true;

        Account(long quota) {
            this.quota = quota;
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
    synchronized Account open(long quota) {
        Account a = new Account(quota > 0 ? quota : defaultQuota);
        owed += reserve;
        return a;
    }

    /** The stream closed: it is owed no reserve any more. Its arrays stay charged until they go. */
    synchronized void closed(Account a) {
        if (a.open) {
            owed -= owedTo(a);
            a.open = false;
        }
    }

    /**
     * Charges {@code bytes} of {@code array} to {@code a}. Returns null when granted, else why it was
     * refused (the quota, or the limit and the others' reserve), in words with the figures.
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
        if (a.quota > 0 && a.used + bytes > a.quota) {
            return String.format(
                    Locale.ROOT,
                    "the stream's memory quota refused it: the stream holds %s of its %s and this needs %s more",
                    mib(a.used),
                    mib(a.quota),
                    mib(bytes));
        }
        // Within its own reserve a stream needs only the memory itself; beyond it, it must also leave
        // the others theirs (a stream opened after the memory was taken may find less: then only
        // the limit binds it).
        long owedToOthers = withinReserve(a, bytes) ? 0 : owedToOthers(a);
        if (used + bytes + owedToOthers > limit) {
            return String.format(
                    Locale.ROOT,
                    "the backend's memory limit refused it: its arrays hold %s of %s, %s is kept for the other "
                            + "open streams, and this needs %s (this stream holds %s)",
                    mib(used),
                    mib(limit),
                    mib(owedToOthers),
                    mib(bytes),
                    mib(a.used));
        }
        return null;
    }

    /** Adds {@code delta} bytes (negative: gives them back) to {@code a} and the backend, keeping what is owed in step. */
    private void add(Account a, long delta) {
        long before = a.open ? owedTo(a) : 0;
        a.used += delta;
        if (a.open) {
            owed += owedTo(a) - before;
        }
        used += delta;
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

    /**
     * What is kept for the open streams other than {@code a}: their reserves, but together never more
     * than half the limit (many streams, or a small limit, share that half).
     */
    private long owedToOthers(Account a) {
        return Math.min(owed - (a.open ? owedTo(a) : 0), limit / 2);
    }

    private boolean withinReserve(Account a, long bytes) {
        return a.open && a.used + bytes <= reserve;
    }

    private long owedTo(Account a) {
        return Math.max(0, reserve - a.used);
    }

    synchronized long used(Account a) {
        return a.used;
    }

    public long limit() {
        return limit;
    }

    public long reserve() {
        return reserve;
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
