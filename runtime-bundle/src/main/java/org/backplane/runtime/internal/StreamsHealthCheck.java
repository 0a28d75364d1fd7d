package org.backplane.runtime.internal;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.felix.hc.api.FormattingResultLog;
import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.backplane.api.BackendState;
import org.backplane.api.BackendUsage;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.PoisonStateService;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.WorkerProcess;
import org.backplane.api.WorkerStatus;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * Felix Health Check, tag {@code backplane}: OK while every stream is healthy, WARN listing the
 * failed and poisoned streams and the backends whose arrays hold more than their memory high-water
 * mark, CRITICAL when a backend has lost its device.
 */
@Component(property = {HealthCheck.NAME + "=Backplane streams", HealthCheck.TAGS + "=backplane"})
public final class StreamsHealthCheck implements HealthCheck {
    @Reference
    private PoisonStateService poison;

    private static final double MIB = 1 << 20;

    private final List<ExecutionBackend> backends = new CopyOnWriteArrayList<>();

    /** For Declarative Services, which sets the poison-state service. */
    public StreamsHealthCheck() {}

    /** Outside OSGi (tests): over {@code poison}, backends bound with {@link #bindBackend}. */
    StreamsHealthCheck(PoisonStateService poison) {
        this.poison = poison;
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindBackend(ExecutionBackend backend) {
        backends.add(backend);
    }

    void unbindBackend(ExecutionBackend backend) {
        backends.remove(backend);
    }

    @Override
    public Result execute() {
        FormattingResultLog log = new FormattingResultLog();
        for (ExecutionBackend b : backends) {
            BackendState state = b.state();
            if (state == BackendState.DEVICE_LOST) {
                log.critical(
                        "backend {} lost its device ({}); every stream on it is poisoned",
                        b.id(),
                        b.device().name());
            } else {
                log.info("backend {} is {}", b.id(), state);
            }
            b.feature(WorkerProcess.class).map(WorkerProcess::status).ifPresent(w -> {
                if (w.state() == WorkerStatus.State.DOWN) {
                    log.critical("backend {} is down: {}", b.id(), w.describe());
                } else {
                    log.info("backend {} runs in a worker process: {}", b.id(), w.describe());
                }
            });
            BackendUsage u = b.usage();
            String memory = String.format(
                    Locale.ROOT,
                    "backend %s: arrays hold %.1f of %.1f MiB (%d%%), %d of %d streams open, %d threads",
                    b.id(),
                    u.memoryUsedBytes() / MIB,
                    u.memoryLimitBytes() / MIB,
                    u.memoryLimitBytes() == 0 ? 0 : u.memoryUsedBytes() * 100 / u.memoryLimitBytes(),
                    u.openStreams(),
                    u.maxStreams(),
                    u.threads());
            if (u.aboveHighWater()) {
                log.warn("{}: above the high-water mark of {}%", memory, u.highWaterPercent());
            } else {
                log.info("{}", memory);
            }
        }
        List<StreamSnapshot> streams = poison.streams();
        long unhealthy = 0;
        long reserved = 0;
        long largestReserve = 0;
        for (StreamSnapshot s : streams) {
            reserved += s.memoryReserveBytes();
            largestReserve = Math.max(largestReserve, s.memoryReserveBytes());
            if (!s.isHealthy()) {
                unhealthy++;
                log.warn(
                        "stream {} '{}' is {} (arrays hold {} MiB, {} MiB reserved for it): {}",
                        s.id(),
                        s.label(),
                        s.state(),
                        mib(s.memoryBytes()),
                        mib(s.memoryReserveBytes()),
                        s.firstError() == null
                                ? "no error recorded"
                                : s.firstError().describe());
            }
        }
        // Healthy streams are summed, not listed: a health check names what needs attention,
        // and backplane:streams shows every stream's reserve.
        if (!streams.isEmpty()) {
            log.info(
                    "{} MiB kept in reserve for the open streams, at most {} MiB for one (backplane:streams lists them)",
                    mib(reserved),
                    mib(largestReserve));
        }
        if (unhealthy == 0) {
            log.info("{} stream(s) on {} backend(s), all healthy", streams.size(), backends.size());
        } else {
            log.info(
                    "{} of {} stream(s) need a reset (backplane:reset <id> or backplane:resetall)",
                    unhealthy,
                    streams.size());
        }
        return new Result(log);
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f", bytes / MIB);
    }
}
