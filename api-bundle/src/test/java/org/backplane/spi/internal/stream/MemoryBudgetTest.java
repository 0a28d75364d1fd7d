package org.backplane.spi.internal.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.backplane.api.DType;
import org.backplane.api.Shape;
import org.backplane.api.StreamId;
import org.backplane.spi.MemoryPolicy;
import org.junit.jupiter.api.Test;

/** S12's rule, exactly: reserves that follow each stream's recent peak, shares, windows and refusals that explain themselves. */
class MemoryBudgetTest {
    private static final long MIB = 1L << 20;
    private static final Duration WINDOW = Duration.ofSeconds(60);

    private final AtomicLong now = new AtomicLong();
    /** 100 MiB governed, 4 MiB the minimum reserve, no quota. */
    private final MemoryBudget budget = new MemoryBudget(new MemoryPolicy(100, 0, 4, 90), 0, WINDOW, now::get);

    private final List<ArrayImpl> held = new ArrayList<>();
    private int streams;

    private MemoryBudget.Account open(String label) {
        return budget.open(new StreamId("test", ++streams), label, 0);
    }

    /** Charges {@code mib} MiB to {@code a}; null if granted, else the refusal. */
    private String charge(MemoryBudget.Account a, long mib) {
        ArrayImpl array = new ArrayImpl(null, null, Shape.of((int) (mib * MIB / Float.BYTES)), DType.FLOAT32, null);
        String refused = budget.charge(a, array, mib * MIB);
        if (refused == null) {
            held.add(array);
        }
        return refused;
    }

    /** Charges 1 MiB at a time until refused; returns how many MiB were granted. */
    private int fill(MemoryBudget.Account a) {
        int granted = 0;
        while (charge(a, 1) == null) {
            granted++;
        }
        return granted;
    }

    private void releaseAll(MemoryBudget.Account a) {
        held.removeIf(array -> {
            if (array.charge.account == a) {
                budget.release(array);
                return true;
            }
            return false;
        });
    }

    @Test
    void aStreamsReserveIsItsRecentPeakAtLeastTheMinimum() {
        MemoryBudget.Account worker = open("worker");
        assertThat(budget.reserve(worker)).isEqualTo(4 * MIB);
        assertThat(charge(worker, 20)).isNull();
        releaseAll(worker);
        assertThat(budget.used(worker)).isZero();
        assertThat(budget.reserve(worker)).as("what it used lately").isEqualTo(20 * MIB);
    }

    @Test
    void aGreedyStreamIsRefusedWhereItWouldEatIntoWhatTheOthersUseAndWillUseAgain() {
        List<MemoryBudget.Account> workers = List.of(open("w1"), open("w2"), open("w3"));
        for (MemoryBudget.Account w : workers) {
            assertThat(charge(w, 12)).isNull(); // a working set of three times the minimum
            releaseAll(w); // between two rounds of work it holds nothing
        }
        MemoryBudget.Account greedy = open("greedy");
        assertThat(fill(greedy)).as("the limit less the workers' recent peaks").isEqualTo(100 - 3 * 12);
        for (MemoryBudget.Account w : workers) {
            assertThat(charge(w, 12)).as("a worker's next round").isNull();
        }
    }

    @Test
    void aHoardersReserveIsCappedAtAnEqualShareSoOthersCanStillGrow() {
        MemoryBudget.Account hoarder = open("hoarder");
        MemoryBudget.Account other = open("other");
        assertThat(fill(hoarder)).isEqualTo(100 - 4);
        releaseAll(hoarder);
        // its peak is 96 MiB, but with two streams open its reserve is at most a third of the limit
        assertThat(budget.reserve(hoarder)).isEqualTo(100 * MIB / 3);
        assertThat(fill(other))
                .as("the other may grow into everything not reserved")
                .isEqualTo((int) ((100 * MIB - 100 * MIB / 3) / MIB));
    }

    @Test
    void anIdleStreamGivesItsReserveBackAfterTwoWindowsAndAClosedOneAtOnce() {
        MemoryBudget.Account a = open("bursty");
        MemoryBudget.Account b = open("other");
        assertThat(charge(a, 30)).isNull();
        releaseAll(a);
        now.addAndGet(WINDOW.toNanos()); // one window later its peak still counts
        assertThat(budget.reserve(a)).isEqualTo(30 * MIB);
        now.addAndGet(WINDOW.toNanos()); // two: it kept only the minimum
        assertThat(budget.reserve(a)).isEqualTo(4 * MIB);
        assertThat(charge(a, 30)).isNull();
        releaseAll(a);
        assertThat(budget.reserve(a)).isEqualTo(30 * MIB);
        budget.closed(a);
        assertThat(budget.reserve(a)).isZero();
        assertThat(fill(b)).isEqualTo(100);
    }

    @Test
    void aStreamWithinItsReserveNeedsOnlyTheMemoryItself() {
        MemoryBudget.Account greedy = open("greedy");
        MemoryBudget.Account late = open("late");
        assertThat(fill(greedy)).isEqualTo(100 - 4);
        assertThat(charge(late, 4)).as("its minimum reserve was kept").isNull();
        assertThat(charge(late, 1)).as("beyond it, nothing is left").isNotNull();
    }

    @Test
    void aRefusalNamesWhoHoldsHowMuchAndWhatIsReservedForWhom() {
        MemoryBudget.Account w = open("busy-worker");
        assertThat(charge(w, 10)).isNull();
        releaseAll(w);
        assertThat(charge(w, 3)).isNull();
        MemoryBudget.Account greedy = open("greedy");
        fill(greedy);
        String refusal = charge(greedy, 1);
        assertThat(refusal)
                .contains("memory limit refused it")
                .contains("this stream holds 90.0 MiB")
                .contains("needs 1.0 MiB")
                .contains("hold 93.0 MiB of its 100.0 MiB limit")
                .contains("7.0 MiB is kept for the other open streams")
                .contains("test:1 'busy-worker' holds 3.0 MiB of its 10.0 MiB reserve");
    }

    @Test
    void aQuotaRefusesBeforeTheLimitAndSaysSo() {
        MemoryBudget.Account limited = budget.open(new StreamId("test", 99), "limited", 5 * MIB);
        assertThat(fill(limited)).isEqualTo(5);
        assertThat(charge(limited, 1)).contains("quota refused it").contains("holds 5.0 MiB of its 5.0 MiB");
    }
}
