package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.backplane.api.ComputeStream;
import org.backplane.api.StreamId;
import org.backplane.spi.BackendSettings;
import org.junit.jupiter.api.Test;

/**
 * Streams are bounded and leaked ones reclaimed: a backend holds at most its configured number of
 * open streams, and a stream nobody can reach any more (neither it nor any of its arrays) is found,
 * logged and closed, its thread and memory freed.
 */
public abstract class LeakedStreamContractTests extends ContractTestSupport {

    @Override
    protected BackendSettings settings() {
        return super.settings().withMaxStreams(4);
    }

    @Test
    void openingPastTheMaximumFailsClearlyAndClosingMakesRoom() {
        ComputeStream[] open = new ComputeStream[4];
        for (int i = 0; i < open.length; i++) {
            open[i] = backend.openStream("bounded-" + i);
        }
        assertThatThrownBy(() -> backend.openStream("one-too-many"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("4 open streams")
                .hasMessageContaining(BackendSettings.STREAMS_MAX);
        assertThat(backend.usage().openStreams()).isEqualTo(4);
        open[0].close();
        ComputeStream fifth = backend.openStream("fits-now");
        assertThat(fifth.abs(fifth.upload(new float[] {-1}, 1)).download()).containsExactly(1f);
    }

    @Test
    void aStreamNobodyReachesIsClosedAndItsResourcesFreed() throws Exception {
        int threadsBefore = backend.usage().threads();
        StreamId leakedId = leak();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        boolean reclaimed = false;
        while (!reclaimed && System.nanoTime() < deadline) {
            System.gc(); // the test stands in for time passing (the backend asks for one only at its maximum)
            Thread.sleep(20);
            reclaimed = backend.stream(leakedId).isEmpty()
                    && backend.streams().stream().noneMatch(s -> s.id().equals(leakedId));
        }
        assertThat(reclaimed).as("the leaked stream is found and closed").isTrue();
        assertThat(backend.usage().openStreams()).isZero();
        assertThat(backend.usage().threads()).isLessThanOrEqualTo(threadsBefore);
        assertThat(backend.usage().memoryUsedBytes()).isZero();
        // and the bound counts only the streams that are really open
        for (int i = 0; i < 4; i++) {
            backend.openStream("after-" + i);
        }
    }

    @Test
    void streamsNobodyReachesAreReclaimedBeforeTheMaximumRefuses() {
        for (int i = 0; i < 4; i++) {
            leak(); // dropped, and (no collection asked for here) not yet collected
        }
        ComputeStream s = backend.openStream("fits-once-the-leaked-are-reclaimed");
        assertThat(s.abs(s.upload(new float[] {-2}, 1)).download()).containsExactly(2f);
        assertThat(backend.usage().openStreams()).isEqualTo(1);
    }

    /** Opens a stream, uses it, and drops every reference to it and its arrays. */
    private StreamId leak() {
        ComputeStream s = backend.openStream("leaked");
        s.eval(s.neg(s.upload(new float[1024], 32, 32)));
        return s.id();
    }
}
