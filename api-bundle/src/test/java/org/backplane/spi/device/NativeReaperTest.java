package org.backplane.spi.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class NativeReaperTest {
    @Test
    void aReleasedAllocationIsFreedOnceByTheNextDrain() {
        NativeReaper<String> reaper = new NativeReaper<>();
        Object owner = new Object();
        NativeReaper<String>.Allocation a = reaper.track(owner, "a");
        assertThat(reaper.watched()).isEqualTo(1);
        a.release();
        a.release();
        assertThat(a.isReleased()).isTrue();
        assertThat(reaper.watched())
                .as("the owner's watch is dropped at release")
                .isZero();
        List<String> freed = new ArrayList<>();
        reaper.drain(freed::add);
        reaper.drain(freed::add);
        assertThat(freed).containsExactly("a");
        assertThat(owner).isNotNull();
    }

    @Test
    void aFreeThatFailsLeavesTheOthersQueuedForTheNextDrain() {
        NativeReaper<String> reaper = new NativeReaper<>();
        List<Object> owners = new ArrayList<>();
        for (String h : List.of("a", "b", "c", "d")) {
            Object owner = new Object();
            owners.add(owner);
            reaper.track(owner, h).release();
        }
        List<String> freed = new ArrayList<>();
        assertThatThrownBy(() -> reaper.drain(h -> {
                    if (freed.size() == 1) {
                        freed.add("failed:" + h);
                        throw new OutOfMemoryError("test");
                    }
                    freed.add(h);
                }))
                .isInstanceOf(OutOfMemoryError.class);
        reaper.drain(freed::add);
        List<String> failed = freed.stream()
                .filter(h -> h.startsWith("failed:"))
                .map(h -> h.substring("failed:".length()))
                .toList();
        List<String> freedOnce =
                freed.stream().filter(h -> !h.startsWith("failed:")).toList();
        assertThat(failed).hasSize(1);
        assertThat(freedOnce)
                .as("every other handle is freed exactly once, those after the failure by the next drain")
                .containsExactlyInAnyOrderElementsOf(List.of("a", "b", "c", "d").stream()
                        .filter(h -> !failed.contains(h))
                        .toList());
        assertThat(owners).hasSize(4);
    }
}
