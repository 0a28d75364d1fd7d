package org.backplane.metal;

import org.backplane.api.ComputeStream;
import org.backplane.api.StreamFailedException;
import org.backplane.metal.kit.MetalFixture;
import org.backplane.spi.BackendSettings;

/**
 * Run in a JVM of its own by {@link UpcallGuardTest}: a completion handler meets a status Metal
 * does not define, so the Java code inside the upcall throws. With the upcall's catch-all in place
 * the batch fails and this prints SURVIVED; without it the JVM exits with "Unrecoverable uncaught
 * exception encountered".
 */
public final class UpcallGuardScenario {
    private UpcallGuardScenario() {}

    public static void main(String[] args) throws Exception {
        MetalBackend backend = (MetalBackend) MetalFixture.INSTANCE.start(BackendSettings.DEFAULT);
        try (ComputeStream s = backend.openStream("guard")) {
            Simulator.get().invalidStatus(s.id().toString());
            try {
                s.neg(s.upload(new float[] {1, 2}, 2)).download();
                System.out.println("NOT FAILED: the handler's status was ignored");
                System.exit(3);
            } catch (StreamFailedException e) {
                System.out.println("SURVIVED kind=" + e.error().kind());
            }
            float[] after = backend.openStream("after")
                    .neg(backend.openStream("after2").upload(new float[] {4}, 1))
                    .download();
            System.out.println("STILL COMPUTING " + after[0]);
        } finally {
            backend.close();
        }
        System.exit(0);
    }
}
