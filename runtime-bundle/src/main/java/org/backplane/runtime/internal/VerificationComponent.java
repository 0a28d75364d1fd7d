package org.backplane.runtime.internal;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.backplane.api.ExecutionBackend;
import org.backplane.cpu.reference.ReferenceChecker;
import org.backplane.spi.runtime.ResultChecking;
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
 * Result checking (configuration {@code org.backplane.verify}): when enabled, a sample of every
 * backend's ops is recomputed on the CPU reference kernels before the result is released; a
 * mismatch is captured into that stream's slot as {@code VERIFICATION_MISMATCH}.
 */
@Component(service = VerificationComponent.class, configurationPid = VerificationComponent.PID, immediate = true)
@Designate(ocd = VerificationComponent.Config.class)
public final class VerificationComponent {
    public static final String PID = "org.backplane.verify";
    private static final System.Logger LOG = System.getLogger(VerificationComponent.class.getName());

    @ObjectClassDefinition(
            name = "Backplane result checking",
            description =
                    "Recompute sampled ops of every backend on the CPU reference and treat a mismatch as a stream failure.")
    public @interface Config {
        @AttributeDefinition(name = "Enabled")
        boolean enabled() default false;

        @AttributeDefinition(name = "Sample rate", description = "Share of ops checked, 0 to 1")
        double sampleRate() default 0.01;

        @AttributeDefinition(
                name = "Relative tolerance",
                description = "Allowed error relative to the magnitude of the result")
        double rtol() default 1e-4;

        @AttributeDefinition(name = "Absolute tolerance")
        double atol() default 1e-6;
    }

    private final Map<String, ExecutionBackend> backends = new ConcurrentHashMap<>();
    private volatile ReferenceChecker checker;

    @Activate
    @Modified
    void configure(Config config) {
        ReferenceChecker next =
                config.enabled() ? new ReferenceChecker(config.sampleRate(), config.rtol(), config.atol()) : null;
        checker = next;
        backends.values().forEach(this::apply);
        LOG.log(
                System.Logger.Level.INFO,
                () -> next == null ? "Backplane result checking off" : "Backplane result checking on: " + next);
    }

    @Deactivate
    void deactivate() {
        checker = null;
        backends.values().forEach(this::apply);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindBackend(ExecutionBackend backend) {
        backends.put(backend.id(), backend);
        apply(backend);
    }

    void unbindBackend(ExecutionBackend backend) {
        backends.remove(backend.id(), backend);
    }

    private void apply(ExecutionBackend backend) {
        Optional<ResultChecking> checking = backend.feature(ResultChecking.class);
        if (checking.isPresent()) {
            checking.get().install(checker);
        } else if (checker != null) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    () -> "backend '" + backend.id()
                            + "' is does not offer result checking; its results are not checked");
        }
    }

    /** The checker in force, or null when checking is off. */
    public ReferenceChecker checker() {
        return checker;
    }
}
