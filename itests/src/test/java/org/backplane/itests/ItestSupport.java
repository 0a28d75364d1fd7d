package org.backplane.itests;

import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.cleanCaches;
import static org.ops4j.pax.exam.CoreOptions.composite;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.systemPackage;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;
import static org.ops4j.pax.exam.CoreOptions.when;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import javax.inject.Inject;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;
import org.backplane.api.ActiveBackend;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.fault.FaultInjector;
import org.ops4j.pax.exam.Option;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;

/**
 * What every integration test shares: the bundles of an embedded Backplane (Declarative Services,
 * Config Admin, EventAdmin, Metatype, Gogo, the Health Check API, Backplane's API, CPU backend and
 * runtime, and the test host bundle), and helpers to wait for services and change configurations.
 */
public abstract class ItestSupport {
    /** The CPU backend's configuration PID. */
    protected static final String CPU_PID = "org.backplane.backend.cpu";
    /** Config Admin PID of the backend selection (runtime bundle). */
    protected static final String SELECTION = "org.backplane.backend";

    @Inject
    protected BundleContext context;

    @Inject
    protected ConfigurationAdmin configAdmin;

    protected static Option[] baseOptions(Option... extra) {
        return framework(
                bundle(file("bundle.isolation")),
                bundle(file("bundle.cpu")),
                bundle(file("bundle.blas")).noStart(), // a fragment: OpenBLAS for the CPU backend
                bundle(file("bundle.runtime")),
                bundle(file("bundle.cuda")), // inactive without an NVIDIA GPU, and says why
                bundle(file("bundle.metal")), // inactive without Metal (or its simulator, configured), and says why
                bundle(file("bundle.host")),
                composite(extra));
    }

    /** The CPU backend alone on the framework: no isolation, runtime, GPU or host bundle. */
    protected static Option[] cpuAloneOptions() {
        return framework(bundle(file("bundle.cpu")), bundle(file("bundle.blas")).noStart());
    }

    /** The framework's services (SCR, Config Admin, Event Admin, ...), Backplane's API, the test's libraries. */
    private static Option[] framework(Option... backplane) {
        String localRepo = System.getProperty("maven.repo.local", "");
        return options(
                // added to what Pax Exam exports from the system bundle, not instead of it
                systemPackage("jdk.incubator.vector"),
                when(!localRepo.isEmpty())
                        .useOptions(systemProperty("org.ops4j.pax.url.mvn.localRepository")
                                .value(localRepo)),
                systemProperty("org.slf4j.simpleLogger.defaultLogLevel").value("warn"),
                bundle(file("bundle.slf4j.api")),
                bundle(file("bundle.slf4j.simple")).noStart(),
                bundle(file("bundle.function")),
                bundle(file("bundle.promise")),
                bundle(file("bundle.component")),
                bundle(file("bundle.scr")),
                bundle(file("bundle.configadmin")),
                bundle(file("bundle.eventadmin")),
                bundle(file("bundle.log")),
                bundle(file("bundle.metatype")),
                bundle(file("bundle.gogo.runtime")),
                bundle(file("bundle.hc.api")),
                bundle(file("bundle.api")),
                composite(backplane),
                junitBundles(),
                bundle(file("bundle.bytebuddy")),
                bundle(file("bundle.assertj")),
                cleanCaches());
    }

    private static String file(String property) {
        String path = System.getProperty(property);
        if (path == null || !new File(path).isFile()) {
            throw new IllegalStateException("system property " + property + " must name a bundle file, but is " + path
                    + " (run through Maven: ./mvnw verify)");
        }
        return new File(path).toURI().toString();
    }

    /** Which framework runs the test: "felix" or "equinox". */
    protected static String framework() {
        return System.getProperty("backplane.itest.framework", "?");
    }

    /**
     * Waits (bounded) for a service matching an optional filter and returns it. The test keeps its
     * own use of the service, so a delayed component is not deactivated under it.
     */
    protected <T> T await(Class<T> type, String filter) throws Exception {
        String f = "(&(objectClass=" + type.getName() + ")" + (filter == null ? "" : filter) + ")";
        ServiceTracker<T, T> tracker = new ServiceTracker<>(context, context.createFilter(f), null);
        tracker.open();
        try {
            if (tracker.waitForService(TimeUnit.SECONDS.toMillis(20)) == null) {
                throw new AssertionError("no service " + f + " within 20 s");
            }
            T service = context.getService(tracker.getServiceReference());
            if (service == null) {
                throw new AssertionError("service " + f + " went away");
            }
            return service;
        } finally {
            tracker.close();
        }
    }

    /** The CPU backend as registered now, once it satisfies {@code condition}. */
    protected ExecutionBackend cpuBackend(Predicate<ExecutionBackend> condition) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            for (ServiceReference<ExecutionBackend> ref :
                    context.getServiceReferences(ExecutionBackend.class, "(backend.id=cpu)")) {
                ExecutionBackend b = context.getService(ref);
                if (b != null && condition.test(b)) {
                    return b;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no CPU backend matching the condition within 20 s");
    }

    /** Sets properties of a configuration (any bundle may bind it) and returns. */
    protected void configure(String pid, Map<String, Object> values) throws IOException {
        Configuration config = configAdmin.getConfiguration(pid, "?");
        Dictionary<String, Object> props = config.getProperties() == null ? new Hashtable<>() : config.getProperties();
        values.forEach(props::put);
        config.update(props);
    }

    /**
     * The CPU backend with fault injection enabled. Changing the configuration restarts the backend
     * asynchronously, so after a change this waits for the new instance, never the one going away.
     */
    protected ExecutionBackend cpuWithFaultInjection() throws Exception {
        ExecutionBackend current = cpuBackend(b -> true);
        if (FaultInjector.of(current).isPresent()) {
            return current;
        }
        configure(CPU_PID, Map.of("faultInjection.enabled", true));
        return cpuBackend(b -> b != current && FaultInjector.of(b).isPresent());
    }

    /**
     * The active backend once it is the CPU backend with fault injection and the only active
     * registration (after a restart the new one is registered before the old one goes).
     */
    protected ActiveBackend activeCpuWithFaultInjection() throws Exception {
        cpuWithFaultInjection();
        ActiveBackend[] found = new ActiveBackend[1];
        eventually("the restarted CPU backend is the only active backend", 20, () -> {
            try {
                var refs = context.getServiceReferences(ActiveBackend.class, "(backend.id=cpu)");
                if (refs.size() != 1
                        || context.getServiceReferences(ActiveBackend.class, null)
                                        .size()
                                != 1) {
                    return false;
                }
                found[0] = context.getService(refs.iterator().next());
                return found[0] != null && FaultInjector.of(found[0]).isPresent();
            } catch (org.osgi.framework.InvalidSyntaxException e) {
                throw new IllegalStateException(e);
            }
        });
        return found[0];
    }

    /** Polls until true, failing after {@code seconds}. */
    protected static void eventually(String what, int seconds, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + seconds + " s: " + what);
            }
            Thread.sleep(20);
        }
    }

    /** Runs a console command through the Gogo runtime, as a user would type it; returns its output. */
    protected String gogo(String command) throws Exception {
        CommandProcessor processor = await(CommandProcessor.class, null);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
        try (CommandSession session = processor.createSession(new ByteArrayInputStream(new byte[0]), print, print)) {
            Object result = session.execute(command);
            if (result != null) {
                print.println(session.format(result, Converter.INSPECT));
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Names of the live platform threads that start with {@code prefix}. */
    protected static List<String> threadsNamed(String prefix) {
        List<String> names = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isAlive() && t.getName().startsWith(prefix)) {
                names.add(t.getName());
            }
        }
        return names;
    }

    protected Bundle installedBundle(String symbolicName) {
        for (Bundle b : context.getBundles()) {
            if (b.getSymbolicName().equals(symbolicName)) {
                return b;
            }
        }
        throw new AssertionError("bundle " + symbolicName + " is not installed");
    }

    protected static Bundle bundleOf(Class<?> type) {
        return FrameworkUtil.getBundle(type);
    }
}
