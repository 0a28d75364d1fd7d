package org.backplane.runtime.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.apache.felix.hc.api.Result;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.cpu.CpuBackend;
import org.backplane.cpu.CpuSettings;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.MemoryPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The health check's memory warning: WARN once a backend's arrays hold more than its high-water share, OK again below. */
@Timeout(60)
class StreamsHealthCheckTest {
    private static final int MIB_FLOATS = (1 << 20) / Float.BYTES;

    @Test
    void warnsAboveTheHighWaterMarkAndNotAtOrBelowIt() {
        // 64 MiB limit, warning above 50%: 32 MiB of arrays is at the mark, 40 MiB above it.
        MemoryPolicy memory = new MemoryPolicy(64, 0, 1, 50);
        try (CpuBackend cpu =
                CpuBackend.start(CpuSettings.defaults().withCommon(BackendSettings.DEFAULT.withMemory(memory)))) {
            PoisonStateComponent poison = new PoisonStateComponent(); // the runtime's own, outside OSGi
            poison.bindBackend(cpu);
            StreamsHealthCheck hc = new StreamsHealthCheck(poison);
            hc.bindBackend(cpu);
            ComputeStream s = cpu.openStream("high-water");
            List<DeviceArray> arrays = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                arrays.add(s.upload(new float[8 * MIB_FLOATS], 8 * MIB_FLOATS));
            }
            Result atTheMark = hc.execute();
            assertThat(atTheMark.getStatus()).as("%s", atTheMark).isEqualTo(Result.Status.OK);
            assertThat(atTheMark.toString()).contains("32.0 of 64.0 MiB (50%)").doesNotContain("high-water");

            arrays.add(s.upload(new float[8 * MIB_FLOATS], 8 * MIB_FLOATS));
            Result above = hc.execute();
            assertThat(above.getStatus()).as("%s", above).isEqualTo(Result.Status.WARN);
            assertThat(above.toString())
                    .contains("backend cpu: arrays hold 40.0 of 64.0 MiB (62%)")
                    .contains("above the high-water mark of 50%");

            arrays.removeLast().close();
            Result belowAgain = hc.execute();
            assertThat(belowAgain.getStatus()).as("%s", belowAgain).isEqualTo(Result.Status.OK);
            arrays.forEach(DeviceArray::close);
            s.close();
            poison.unbindBackend(cpu);
            poison.deactivate();
        }
    }
}
