package org.backplane.launcher;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;

/**
 * An embedded Backplane: Apache Felix with Gogo, SCR, Config Admin, EventAdmin, Metatype, the
 * runtime and the CPU backend. Infrastructure bundles start first, then the launcher's configuration
 * is put in place, then Backplane's bundles start, so the backend comes up configured.
 *
 * <p>The launcher lives outside the framework, so it reaches the services inside (Config Admin,
 * the Gogo command processor) through their own class loaders rather than casting them.
 */
public final class Launcher implements AutoCloseable {
    /** Started last, after the configuration is in place. */
    static final List<String> BACKPLANE = List.of(
            "org.backplane.api",
            "org.backplane.cpu",
            "org.backplane.runtime",
            "org.backplane.onnx",
            "org.backplane.embeddings");
    /** The CPU backend's configuration in this launcher: fault injection on, so that the demo can inject its fault. */
    static final Map<String, Map<String, Object>> CONFIGURATION =
            Map.of("org.backplane.backend.cpu", Map.of("faultInjection.enabled", true));

    private final Framework framework;
    private final BundleContext context;
    private Bundle shell;

    private Launcher(Framework framework) {
        this.framework = framework;
        this.context = framework.getBundleContext();
    }

    /**
     * Starts the framework with the bundles in {@code bundles}; the Gogo shell is installed but
     * only started by {@link #startShell()}.
     */
    public static Launcher start(Path bundles, Path storage) throws Exception {
        Map<String, String> config = new HashMap<>();
        config.put(Constants.FRAMEWORK_STORAGE, storage.toAbsolutePath().toString());
        config.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        config.put(Constants.FRAMEWORK_SYSTEMPACKAGES_EXTRA, "jdk.incubator.vector");
        config.put("felix.log.level", "1");
        // The embedding model, beside the bundles (target/models): the embeddings service reads it from there.
        modelArchive(bundles).ifPresent(m -> config.put("backplane.embeddings.model", m.toString()));
        config.put(
                "gosh.args",
                "--noshutdown"); // `exit` in the shell closes the session; the launcher stops the framework
        FrameworkFactory factory = ServiceLoader.load(FrameworkFactory.class)
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("no OSGi framework on the launcher's class path"));
        Framework framework = factory.newFramework(config);
        framework.init();
        Launcher launcher = new Launcher(framework);
        try {
            launcher.installAndStart(bundles);
        } catch (Exception e) {
            launcher.close();
            throw e;
        }
        return launcher;
    }

    /** The model archive in the {@code models} folder beside the bundles' folder, if there is one. */
    static java.util.Optional<Path> modelArchive(Path bundles) {
        Path models = bundles.toAbsolutePath().resolveSibling("models");
        if (!Files.isDirectory(models)) {
            return java.util.Optional.empty();
        }
        try (Stream<Path> files = Files.list(models)) {
            return files.filter(p -> p.toString().endsWith(".jar")).sorted().findFirst();
        } catch (IOException e) {
            return java.util.Optional.empty();
        }
    }

    private void installAndStart(Path dir) throws Exception {
        List<Path> jars;
        try (Stream<Path> files = Files.list(dir)) {
            jars = files.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
        } catch (IOException e) {
            throw new IllegalStateException(
                    "cannot read the bundles in " + dir + " (build them: ./mvnw -pl distribution -am package)", e);
        }
        List<Bundle> infrastructure = new ArrayList<>();
        List<Bundle> backplane = new ArrayList<>();
        for (Path jar : jars) {
            Bundle b = context.installBundle(jar.toUri().toString());
            if (b.getHeaders().get(Constants.FRAGMENT_HOST) != null) {
                continue;
            }
            if (BACKPLANE.contains(b.getSymbolicName())) {
                backplane.add(b);
            } else if ("org.apache.felix.gogo.shell".equals(b.getSymbolicName())) {
                shell = b; // started last, and only for an interactive session: it reads the console at once
            } else {
                infrastructure.add(b);
            }
        }
        framework.start();
        for (Bundle b : infrastructure) {
            b.start();
        }
        Object configAdmin = awaitService("org.osgi.service.cm.ConfigurationAdmin", null);
        for (Map.Entry<String, Map<String, Object>> e : CONFIGURATION.entrySet()) {
            configure(configAdmin, e.getKey(), e.getValue());
        }
        backplane.sort((x, y) -> BACKPLANE.indexOf(x.getSymbolicName()) - BACKPLANE.indexOf(y.getSymbolicName()));
        for (Bundle b : backplane) {
            b.start();
        }
        awaitService("org.backplane.api.ActiveBackend", null);
        awaitService(null, "(osgi.command.scope=backplane)");
    }

    private static void configure(Object configAdmin, String pid, Map<String, Object> values) throws Exception {
        Class<?> cmType = configAdmin.getClass().getClassLoader().loadClass("org.osgi.service.cm.ConfigurationAdmin");
        Object configuration =
                cmType.getMethod("getConfiguration", String.class, String.class).invoke(configAdmin, pid, "?");
        Class<?> configType = cmType.getClassLoader().loadClass("org.osgi.service.cm.Configuration");
        Dictionary<String, Object> props = new Hashtable<>(values);
        configType.getMethod("update", Dictionary.class).invoke(configuration, props);
    }

    /**
     * Runs a Gogo command line in a new session. What it prints, and what it returns (formatted for
     * people), goes to {@code out}. A failing command throws its exception.
     */
    public void execute(String commandLine, PrintStream out) throws Exception {
        Object processor = awaitService("org.apache.felix.service.command.CommandProcessor", null);
        ClassLoader loader = processor.getClass().getClassLoader();
        Class<?> processorType = loader.loadClass("org.apache.felix.service.command.CommandProcessor");
        Class<?> sessionType = loader.loadClass("org.apache.felix.service.command.CommandSession");
        Object session = processorType
                .getMethod("createSession", InputStream.class, java.io.OutputStream.class, java.io.OutputStream.class)
                .invoke(processor, new ByteArrayInputStream(new byte[0]), out, out);
        try {
            Object result = sessionType.getMethod("execute", CharSequence.class).invoke(session, commandLine);
            if (result != null) {
                Method format = sessionType.getMethod("format", Object.class, int.class);
                out.println(format.invoke(session, result, 0 /* Converter.INSPECT */));
            }
            out.flush();
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        } finally {
            sessionType.getMethod("close").invoke(session);
        }
    }

    /** Starts the Gogo shell on this process's console. */
    public void startShell() throws BundleException {
        if (shell == null) {
            throw new IllegalStateException("the Gogo shell bundle is not installed");
        }
        shell.start();
    }

    /** Waits until the framework stops (the shell's {@code stop 0}, or a signal). */
    public void awaitStop() throws InterruptedException {
        framework.waitForStop(0);
    }

    private Object awaitService(String type, String filter) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            // all references: the launcher (the system bundle) does not share the bundles' class space
            ServiceReference<?>[] refs = context.getAllServiceReferences(type, filter);
            if (refs != null && refs.length > 0) {
                Object service = context.getService(refs[0]);
                if (service != null) {
                    return service;
                }
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("Backplane did not come up: no " + type + (filter == null ? "" : " " + filter)
                + " service within 30 s; bundle states: " + bundleStates());
    }

    private String bundleStates() {
        StringBuilder sb = new StringBuilder();
        for (Bundle b : context.getBundles()) {
            sb.append(b.getSymbolicName())
                    .append('=')
                    .append(
                            switch (b.getState()) {
                                case Bundle.ACTIVE -> "ACTIVE";
                                case Bundle.RESOLVED -> "RESOLVED";
                                case Bundle.INSTALLED -> "INSTALLED (not resolved)";
                                default -> String.valueOf(b.getState());
                            })
                    .append(' ');
        }
        return sb.toString().trim();
    }

    /**
     * Stops the framework (Backplane stops its backends safely) and waits for it. An interrupt ends
     * the wait early and stays set on the thread.
     */
    @Override
    public void close() throws BundleException {
        framework.stop();
        try {
            framework.waitForStop(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
