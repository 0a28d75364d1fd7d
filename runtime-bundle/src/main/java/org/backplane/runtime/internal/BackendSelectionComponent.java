package org.backplane.runtime.internal;

import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.backplane.api.ActiveBackend;
import org.backplane.api.BackendAvailability;
import org.backplane.api.BackendState;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.WorkerProcess;
import org.backplane.api.WorkerStatus;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Selects the backend hosts use, from the configuration {@code org.backplane.backend}, and registers
 * it as {@link ActiveBackend}. Switching registers the new selection before unregistering the old
 * one, so hosts with dynamic, greedy references rebind without restarting; streams they opened
 * keep running on their backend until closed. A choice that cannot be honoured leaves the previous
 * selection in place; falling back to a later preference is logged as a warning, never silently.
 */
@Component(service = BackendSelection.class, configurationPid = BackendSelection.PID, immediate = true)
@Designate(ocd = BackendSelectionComponent.Config.class)
public final class BackendSelectionComponent implements BackendSelection {
    private static final System.Logger LOG = System.getLogger(BackendSelectionComponent.class.getName());

    @ObjectClassDefinition(
            name = "Backplane backend selection",
            description = "Which execution backend hosts get as ActiveBackend.")
    public @interface Config {
        @AttributeDefinition(
                name = "Backend",
                description = "A backend id (cpu, metal, cuda) or an ordered preference list "
                        + "such as metal,cuda,cpu: the first one registered and running is selected.")
        String backend() default "cpu";
    }

    private final Map<String, ExecutionBackend> registered = new ConcurrentHashMap<>();
    private final Map<String, BackendAvailability> availabilities = new ConcurrentHashMap<>();
    private final Map<ExecutionBackend, Runnable> workerListeners = new ConcurrentHashMap<>();
    private volatile List<String> preference = List.of("cpu");
    private volatile Status status =
            new Status(List.of("cpu"), null, "not activated yet", Map.of(), Map.of(), Map.of());
    private volatile ExecutorService selector;
    private BundleContext context;
    // The fields below belong to the selector thread: services are registered and unregistered there,
    // never while holding a lock that a DS callback could need.
    private ServiceRegistration<ActiveBackend> registration;
    private ActiveBackendService active;
    private String note = "";

    @Activate
    void activate(BundleContext bundleContext, Config config) {
        context = bundleContext;
        preference = parse(config.backend());
        selector = Executors.newSingleThreadExecutor(r ->
                Thread.ofPlatform().daemon().name("backplane-backend-selection").unstarted(r));
        request("activated");
    }

    @Modified
    void modified(Config config) {
        List<String> wanted = parse(config.backend());
        if (wanted.isEmpty()) {
            submit(() -> {
                note = "the configured backend '" + config.backend()
                        + "' names no backend; keeping the previous choice";
                LOG.log(System.Logger.Level.WARNING, note);
                publishStatus();
            });
            return;
        }
        preference = wanted;
        request("configuration changed to " + String.join(",", wanted));
    }

    @Deactivate
    void deactivate() {
        ExecutorService s = selector;
        selector = null;
        s.execute(() -> {
            unregister(registration);
            registration = null;
            active = null;
        });
        s.shutdown();
        try {
            if (!s.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.log(System.Logger.Level.WARNING, "backend selection did not stop within 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindBackend(ExecutionBackend backend) {
        registered.put(backend.id(), backend);
        // An isolated backend's worker can go down (past its restart limit): choose again when it changes.
        backend.feature(WorkerProcess.class).ifPresent(w -> {
            Runnable changed = () -> request("the worker of backend '" + backend.id() + "' changed");
            workerListeners.put(backend, changed);
            w.addListener(changed);
        });
        request("backend '" + backend.id() + "' registered");
    }

    void unbindBackend(ExecutionBackend backend) {
        registered.remove(backend.id(), backend);
        Runnable changed = workerListeners.remove(backend);
        if (changed != null) {
            backend.feature(WorkerProcess.class).ifPresent(w -> w.removeListener(changed));
        }
        request("backend '" + backend.id() + "' unregistered");
    }

    /** Whether a backend is down for good: an isolated backend whose worker passed its restart limit. */
    private static String down(ExecutionBackend b) {
        return b.feature(WorkerProcess.class)
                .map(WorkerProcess::status)
                .filter(s -> s.state() == WorkerStatus.State.DOWN)
                .map(s -> "down: its worker process was lost " + s.crashes() + " times, past its restart limit of "
                        + s.restartLimit() + " in " + s.restartWindow().toMinutes() + " min; last: " + s.lastCrash())
                .orElse(null);
    }

    /** What backend bundles found on this machine: why an installed backend is not registered. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindAvailability(BackendAvailability availability) {
        availabilities.put(availability.backendId(), availability);
        request("availability of '" + availability.backendId() + "' reported");
    }

    void unbindAvailability(BackendAvailability availability) {
        availabilities.remove(availability.backendId(), availability);
        request("availability of '" + availability.backendId() + "' withdrawn");
    }

    /** Why a preferred backend is not registered, as precisely as its bundle said. */
    private String whyMissing(String id) {
        BackendAvailability a = availabilities.get(id);
        if (a == null) {
            return "not registered: its bundle is not installed or not started";
        }
        return a.available()
                ? "not registered yet (its device was found: " + a.reason() + ")"
                : "unavailable here: " + a.reason();
    }

    private void request(String why) {
        submit(() -> select(why));
    }

    private void submit(Runnable work) {
        ExecutorService s = selector;
        if (s == null) {
            return; // not activated yet (activation selects), or deactivated
        }
        try {
            s.execute(() -> {
                try {
                    work.run();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.ERROR, "backend selection failed", e);
                }
            });
        } catch (RejectedExecutionException stopping) {
            // deactivating
        }
    }

    static List<String> parse(String text) {
        List<String> ids = new ArrayList<>();
        for (String id : (text == null ? "" : text).split("[,\\s]+", -1)) {
            String trimmed = id.trim().toLowerCase(Locale.ROOT);
            if (!trimmed.isEmpty() && !ids.contains(trimmed)) {
                ids.add(trimmed);
            }
        }
        return ids;
    }

    /** Re-evaluates the selection; runs on the selector thread. */
    private void select(String why) {
        ExecutionBackend chosen = null;
        List<String> skipped = new ArrayList<>();
        for (String id : preference) {
            ExecutionBackend b = registered.get(id);
            String down = b == null ? null : down(b);
            if (b != null && b.state() != BackendState.STOPPED && down == null) {
                chosen = b;
                break;
            }
            skipped.add(
                    id + (b == null ? " (" + whyMissing(id) + ")" : down != null ? " (" + down + ")" : " (stopped)"));
        }
        if (chosen == null) {
            ExecutionBackend current = active == null ? null : registered.get(active.id());
            if (current == null) {
                unregister(registration);
                registration = null;
                active = null;
            }
            note = "none of " + preference + " is available: " + String.join("; ", skipped)
                    + (current != null ? "; keeping '" + current.id() + "'" : "; no backend is active");
            String message = note;
            LOG.log(System.Logger.Level.WARNING, () -> "Backplane backend selection (" + why + "): " + message);
            publishStatus();
            return;
        }
        note = skipped.isEmpty()
                ? ""
                : "PREFERRED BACKEND NOT AVAILABLE: " + String.join("; ", skipped) + "; using '" + chosen.id()
                        + "' instead";
        if (!note.isEmpty()) {
            String message = note;
            LOG.log(System.Logger.Level.WARNING, () -> "Backplane backend selection (" + why + "): " + message);
        }
        if (active != null && active.target() == chosen) {
            publishStatus();
            return;
        }
        ActiveBackendService next = new ActiveBackendService(chosen);
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(ExecutionBackend.BACKEND_ID, chosen.id());
        props.put(ActiveBackend.ACTIVE, true);
        ServiceRegistration<ActiveBackend> old = registration;
        String previous = active == null ? "none" : active.id();
        registration = context.registerService(ActiveBackend.class, next, props); // new first: hosts rebind
        active = next;
        unregister(old);
        publishStatus();
        ExecutionBackend selected = chosen;
        LOG.log(
                System.Logger.Level.INFO,
                () -> "Backplane active backend: " + selected.id() + " (was " + previous + "; " + why + ")");
    }

    private void publishStatus() {
        Map<String, BackendState> states = new TreeMap<>();
        registered.forEach((id, b) -> states.put(id, b.state()));
        Map<String, String> workers = new TreeMap<>();
        registered.forEach((id, b) -> b.feature(WorkerProcess.class)
                .ifPresent(w -> workers.put(id, w.status().describe())));
        Map<String, String> unavailable = new TreeMap<>();
        availabilities.forEach((id, a) -> {
            if (!a.available()) {
                unavailable.put(id, a.reason());
            }
        });
        status = new Status(
                List.copyOf(preference), active == null ? null : active.id(), note, states, unavailable, workers);
    }

    private static void unregister(ServiceRegistration<?> reg) {
        if (reg != null) {
            try {
                reg.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the bundle is stopping
            }
        }
    }

    @Override
    public Status status() {
        return status;
    }
}
