package org.backplane.cuda.scenarios;

import org.backplane.api.ComputeStream;
import org.backplane.cuda.CudaBackend;
import org.backplane.cuda.CudaSettings;

/**
 * Does a JVM that used the CUDA backend exit? Each mode uses CUDA a little, then exits; the GPU run
 * script times each one (a hang here once came from destroying the primary context after upcalls).
 * Modes: {@code init} (load the driver, count devices), {@code no-callback} (upload and download
 * only, then stop the backend), {@code callback} (one op, so one completion upcall, then stop the
 * backend), {@code callback-open} (same, backend left running at exit).
 */
public final class ExitProbe {
    private ExitProbe() {}

    public static void main(String[] args) {
        String mode = args.length > 0 ? args[0] : "callback";
        if (mode.equals("init")) {
            System.out.println(CudaBackend.availability());
        } else {
            CudaBackend cuda = CudaBackend.start(CudaSettings.defaults());
            ComputeStream s = cuda.openStream("exit-probe");
            float[] y = mode.equals("no-callback")
                    ? s.upload(new float[] {-1, -2}, 2).download()
                    : s.neg(s.upload(new float[] {1, 2}, 2)).download();
            System.out.println("computed " + y[0] + ", " + y[1]);
            if (!mode.equals("callback-open")) {
                cuda.close();
                System.out.println("backend stopped");
            }
        }
        System.out.println("exiting (" + mode + ")");
        System.exit(0);
    }
}
