package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.util.ArrayList;
import java.util.List;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamState;
import org.backplane.spi.BackendSettings;
import org.junit.jupiter.api.Test;

/**
 * The device running out of memory — not Backplane's budget refusing first — is a failure of the
 * op that met it: it goes through the stream's slot, poisons only that stream, and reset recovers
 * it. The budget's own refusals are {@link MemoryContractTests}'.
 */
public abstract class OutOfMemoryContractTests extends ContractTestSupport {

    /** No memory limit of Backplane's own (a pebibyte): here the device itself must refuse. */
    @Override
    protected BackendSettings settings() {
        return withoutOwnMemoryLimit(super.settings());
    }

    @Test
    void theDeviceRunningOutOfMemoryPoisonsOnlyThatStream() throws Exception {
        long elements = fixture().outOfMemoryElements();
        assumeThat(elements).as("fixture can drive the backend out of memory").isPositive();
        int rows = (int) Math.min(Integer.MAX_VALUE, elements / 1024);
        ComputeStream greedy = backend.openStream("oom-greedy");
        ComputeStream bystander = backend.openStream("oom-bystander");
        DeviceArray small = bystander.upload(new float[] {1, 2, 3}, 3);

        @SuppressWarnings("ModifiedButNotUsed") // holding the arrays is the point: they stay reachable
        List<DeviceArray> held = new ArrayList<>();
        Throwable reported = null;
        try {
            for (int i = 0; i < 4; i++) {
                held.add(greedy.full(1f, rows, 1024)); // each fits alone; together they cannot
            }
            // A backend that allocates when the op runs reports here; one that allocates when the op
            // is queued (the CPU, a GPU) already reported at the submission above.
            greedy.synchronize();
        } catch (StreamFailedException e) {
            reported = e;
        }
        assertThat(reported).as("computing all four must run out of memory").isNotNull();
        StreamFailedException failure = (StreamFailedException) reported;
        assertThat(failure.error().kind()).isEqualTo(ErrorKind.OUT_OF_MEMORY);
        assertThat(failure.error().failedOp()).startsWith("full");
        assertThat(failure.error().message())
                .as("refused by the device, not by the budget (whose refusals say 'limit' or 'quota refused it')")
                .doesNotContain("limit refused it")
                .doesNotContain("quota refused it");
        held.clear();
        reported = null;
        failure = null;

        assertThat(bystander.add(small, small).download()).containsExactly(2, 4, 6);
        assertThat(bystander.snapshot().state()).isEqualTo(StreamState.ACTIVE);
        assertThatThrownBy(greedy::synchronize).isInstanceOf(org.backplane.api.StreamPoisonedException.class);

        System.gc(); // the failed generation's arrays are garbage now; let the heap have them back
        backend.reset(greedy.id());
        assertThat(greedy.sum(greedy.full(2f, 100)).download()).containsExactly(200f);
    }
}
