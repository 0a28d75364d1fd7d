package org.backplane.subjectagent;

import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;
import java.util.concurrent.atomic.AtomicLong;

/** Registers the transformer; loaded from the bootstrap class path by {@link SubjectAgent}. */
public final class TransformerInstaller {
    static final AtomicLong REWRITTEN = new AtomicLong();

    private TransformerInstaller() {}

    public static void install(Instrumentation inst, boolean verbose) {
        inst.addTransformer(new Transformer(verbose));
    }

    /** How many classes were rewritten so far. */
    public static long rewrittenClasses() {
        return REWRITTEN.get();
    }

    private record Transformer(boolean verbose) implements ClassFileTransformer {
        @Override
        public byte[] transform(
                ClassLoader loader, String className, Class<?> redefined, ProtectionDomain domain, byte[] classFile) {
            // The JDK's own classes (boot and platform loaders) keep the real API.
            if (className == null
                    || loader == null
                    || loader.equals(ClassLoader.getPlatformClassLoader())
                    || className.startsWith("org/backplane/subjectagent/")) {
                return null;
            }
            try {
                byte[] rewritten = SubjectCallRewriter.rewrite(classFile, loader);
                if (rewritten != null) {
                    REWRITTEN.incrementAndGet();
                    if (verbose) {
                        System.err.println("[subject-agent] rewrote " + className.replace('/', '.'));
                    }
                }
                return rewritten;
            } catch (RuntimeException | LinkageError e) {
                System.err.println("[subject-agent] left " + className.replace('/', '.') + " unchanged: " + e);
                return null;
            }
        }
    }
}
