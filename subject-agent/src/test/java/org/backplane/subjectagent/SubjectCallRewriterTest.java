package org.backplane.subjectagent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.security.PrivilegedActionException;
import java.security.PrivilegedExceptionAction;
import javax.security.auth.Subject;
import org.junit.jupiter.api.Test;

class SubjectCallRewriterTest {
    /** Loads Karaf's util classes and the probe itself, rewritten or not, ahead of the test class path. */
    private static final class ProbeLoader extends ClassLoader {
        private final boolean rewrite;

        ProbeLoader(boolean rewrite) {
            super(SubjectCallRewriterTest.class.getClassLoader());
            this.rewrite = rewrite;
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (!name.startsWith("org.apache.karaf.util.") && !name.startsWith(KarafJaasProbe.class.getName())) {
                return super.loadClass(name, resolve);
            }
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    byte[] bytes = classBytes(name);
                    byte[] rewritten = rewrite ? SubjectCallRewriter.rewrite(bytes, this) : null;
                    byte[] used = rewritten != null ? rewritten : bytes;
                    c = defineClass(name, used, 0, used.length);
                }
                return c;
            }
        }

        private byte[] classBytes(String name) throws ClassNotFoundException {
            try (InputStream in = getParent().getResourceAsStream(name.replace('.', '/') + ".class")) {
                if (in == null) {
                    throw new ClassNotFoundException(name);
                }
                return in.readAllBytes();
            } catch (IOException e) {
                throw new ClassNotFoundException(name, e);
            }
        }
    }

    private static String probe(boolean rewrite) throws Throwable {
        Method probe = new ProbeLoader(rewrite)
                .loadClass(KarafJaasProbe.class.getName())
                .getMethod("probe");
        try {
            return (String) probe.invoke(null);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static byte[] classBytes(Class<?> type) throws IOException {
        try (InputStream in = type.getResourceAsStream("/" + type.getName().replace('.', '/') + ".class")) {
            return in.readAllBytes();
        }
    }

    @Test
    void karafsJaasHelperFailsOnThisJdkWhenLeftAlone() {
        assertThatThrownBy(() -> probe(false))
                .isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("getSubject");
    }

    @Test
    void rewrittenKarafJaasHelperSeesTheUserAndItsRolesAndThreadsStartedThereInheritThem() throws Throwable {
        assertThat(probe(true)).isEqualTo("admin=true viewer=false thread=true outside=false");
    }

    @Test
    void classesWithoutSubjectCallsAreNotTouched() throws IOException {
        assertThat(SubjectCallRewriter.rewrite(classBytes(SubjectCallRewriterTest.ProbeLoader.class), null))
                .isNull();
        assertThat(SubjectCallRewriter.mentionsTargetOwner(classBytes(String.class)))
                .isFalse();
    }

    @Test
    void doAsKeepsTheSubjectAndWrapsCheckedExceptionsLikeDoPrivileged() {
        Subject user = new Subject();
        assertThat(Subjects.doAs(user, (java.security.PrivilegedAction<Subject>) () -> Subjects.getSubject(null)))
                .isSameAs(user);
        assertThat(Subjects.getSubject(null)).as("outside doAs").isNull();
        assertThatThrownBy(() -> Subjects.doAs(user, (PrivilegedExceptionAction<Void>) () -> {
                    throw new IOException("disk");
                }))
                .isInstanceOf(PrivilegedActionException.class)
                .cause()
                .isInstanceOf(IOException.class)
                .hasMessage("disk");
        assertThatThrownBy(() -> Subjects.doAs(user, (PrivilegedExceptionAction<Void>) () -> {
                    throw new IllegalStateException("plain");
                }))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("plain");
        assertThat(Subjects.getSubject(null)).as("restored after failures").isNull();
    }
}
