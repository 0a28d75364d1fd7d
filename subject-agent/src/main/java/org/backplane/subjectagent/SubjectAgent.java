package org.backplane.subjectagent;

import java.lang.instrument.Instrumentation;
import java.nio.file.Path;
import java.util.jar.JarFile;

/**
 * {@code -javaagent:subject-agent.jar}: makes code written for {@code Subject.getSubject(acc)} and
 * subject-carrying access-control contexts work on JDK 24+, where the security manager is gone (see
 * {@link Subjects}). It puts its own jar on the bootstrap class path so that every class loader can
 * reach {@link Subjects} (OSGi frameworks need {@code org.backplane.subjectagent} in
 * {@code org.osgi.framework.bootdelegation}), then rewrites the calls of each class as it is loaded.
 * A class it cannot rewrite is loaded unchanged and reported once on stderr; the agent never makes
 * a class fail to load.
 *
 * <p>{@code -Dorg.backplane.subjectagent.verbose=true} lists every rewritten class.
 */
public final class SubjectAgent {
    private SubjectAgent() {}

    public static void premain(String args, Instrumentation inst) throws Exception {
        Path jar = Path.of(SubjectAgent.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .toURI());
        inst.appendToBootstrapClassLoaderSearch(new JarFile(jar.toFile()));
        // From here on this package must come from the bootstrap loader only (a class of the app
        // loader may not touch package-private classes of the same package in another loader).
        Class<?> installer = Class.forName(TransformerInstaller.class.getName(), true, null);
        installer
                .getMethod("install", Instrumentation.class, boolean.class)
                .invoke(null, inst, Boolean.getBoolean("org.backplane.subjectagent.verbose"));
    }

    public static void agentmain(String args, Instrumentation inst) throws Exception {
        premain(args, inst);
    }
}
