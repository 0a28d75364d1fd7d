package org.backplane.subjectagent;

import java.security.PrivilegedAction;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.security.auth.Subject;
import org.apache.karaf.jaas.boot.principal.RolePrincipal;
import org.apache.karaf.jaas.boot.principal.UserPrincipal;
import org.apache.karaf.util.jaas.JaasHelper;

/**
 * Karaf's own JAAS helper, used the way Karaf's shell and SSH server use it: run as a user, ask for
 * roles there and in a thread started there. Prints one line of results; run in a forked JVM with and
 * without the agent, and in-process on a rewritten copy of itself.
 */
public final class KarafJaasProbe {
    public static String probe() throws InterruptedException {
        Subject admin = new Subject();
        admin.getPrincipals().add(new UserPrincipal("karaf"));
        admin.getPrincipals().add(new RolePrincipal("admin"));
        StringBuilder out = new StringBuilder();
        AtomicBoolean inThread = new AtomicBoolean();
        JaasHelper.doAs(admin, (PrivilegedAction<Void>) () -> {
            out.append("admin=").append(JaasHelper.currentUserHasRole("admin"));
            out.append(" viewer=").append(JaasHelper.currentUserHasRole("viewer"));
            Thread t = new Thread(() -> inThread.set(JaasHelper.currentUserHasRole("admin")));
            t.start();
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return null;
        });
        out.append(" thread=").append(inThread.get());
        out.append(" outside=").append(JaasHelper.currentUserHasRole("admin"));
        return out.toString();
    }

    public static void main(String[] args) throws Exception {
        System.out.println("subjects loader=" + (Subjects.class.getClassLoader() == null ? "boot" : "app"));
        System.out.println(probe());
        // Only reached with the agent: without it, probe() throws.
        Object rewritten = Class.forName(TransformerInstaller.class.getName(), true, null)
                .getMethod("rewrittenClasses")
                .invoke(null);
        System.out.println("rewritten classes=" + rewritten);
    }
}
