package org.backplane.subjectagent;

import java.security.AccessControlContext;
import java.security.AccessController;
import java.security.DomainCombiner;
import java.security.PrivilegedAction;
import java.security.PrivilegedActionException;
import java.security.PrivilegedExceptionAction;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import javax.security.auth.Subject;
import javax.security.auth.SubjectDomainCombiner;

/**
 * What rewritten call sites call instead of the security-manager-era API that JDK 24+ no longer
 * backs. Before JDK 24 a {@link Subject} travelled in the {@link AccessControlContext}: set by
 * {@code doPrivileged(action, acc)} with a {@link SubjectDomainCombiner} (Karaf's
 * {@code JaasHelper.doAs}) or by {@code Subject.doAs}, read back by {@code Subject.getSubject(acc)},
 * and inherited by every thread created inside (a thread captured its creator's context). Without a
 * security manager {@code getSubject} throws and the context carries nothing, so this class carries
 * the subject in an {@link InheritableThreadLocal}, which has the same inheritance rule, and also
 * binds it with {@link Subject#callAs} so JDK code that asks {@link Subject#current()} sees it.
 *
 * <p>Loaded from the bootstrap class path (the agent puts itself there), so that classes of every
 * class loader, OSGi bundles included (boot delegation of {@code org.backplane.subjectagent}), can call it.
 */
@SuppressWarnings("removal")
public final class Subjects {
    private static final InheritableThreadLocal<Subject> CURRENT = new InheritableThreadLocal<>();

    private Subjects() {}

    /** Replaces {@code Subject.getSubject(acc)}. */
    public static Subject getSubject(AccessControlContext acc) {
        Subject fromContext = subjectOf(acc);
        if (fromContext != null) {
            return fromContext;
        }
        Subject carried = CURRENT.get();
        return carried != null ? carried : Subject.current();
    }

    /** Replaces {@code AccessController.doPrivileged(action, acc)}. */
    public static <T> T doPrivileged(PrivilegedAction<T> action, AccessControlContext acc) {
        Subject subject = subjectOf(acc);
        if (subject == null) {
            return AccessController.doPrivileged(action, acc);
        }
        return runAs(subject, action);
    }

    /** Replaces {@code AccessController.doPrivileged(action, acc)}. */
    public static <T> T doPrivileged(PrivilegedExceptionAction<T> action, AccessControlContext acc)
            throws PrivilegedActionException {
        Subject subject = subjectOf(acc);
        if (subject == null) {
            return AccessController.doPrivileged(action, acc);
        }
        return callAs(subject, action::run);
    }

    /** Replaces {@code Subject.doAs(subject, action)}. */
    public static <T> T doAs(Subject subject, PrivilegedAction<T> action) {
        return runAs(subject, action);
    }

    /** Replaces {@code Subject.doAs(subject, action)}. */
    public static <T> T doAs(Subject subject, PrivilegedExceptionAction<T> action) throws PrivilegedActionException {
        return callAs(subject, action::run);
    }

    /** The subject a pre-JDK-24 context carried: the one its {@link SubjectDomainCombiner} holds. */
    static Subject subjectOf(AccessControlContext acc) {
        if (acc == null) {
            return null;
        }
        DomainCombiner combiner = acc.getDomainCombiner();
        return combiner instanceof SubjectDomainCombiner sdc ? sdc.getSubject() : null;
    }

    /** {@link #callAs(Subject, Callable)} for an action that throws no checked exception. */
    private static <T> T runAs(Subject subject, PrivilegedAction<T> action) {
        try {
            return callAs(subject, action::run);
        } catch (PrivilegedActionException e) {
            throw new IllegalStateException("unreachable: a PrivilegedAction threw a checked exception", e);
        }
    }

    /**
     * Runs {@code action} with {@code subject} as the thread's (and its new threads') subject and as
     * {@link Subject#current()}. Checked exceptions come out wrapped, as {@code doPrivileged} wraps them;
     * unchecked ones and errors pass through unchanged.
     */
    private static <T> T callAs(Subject subject, Callable<T> action) throws PrivilegedActionException {
        Subject previous = CURRENT.get();
        CURRENT.set(subject);
        try {
            return Subject.callAs(subject, action);
        } catch (CompletionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new PrivilegedActionException((Exception) cause);
        } finally {
            if (previous == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(previous);
            }
        }
    }
}
