package org.backplane.subjectagent;

import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassModel;
import java.lang.classfile.ClassTransform;
import java.lang.classfile.CodeTransform;
import java.lang.classfile.Opcode;
import java.lang.classfile.instruction.InvokeInstruction;
import java.lang.constant.ClassDesc;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * Rewrites, in one class file, every {@code invokestatic} of the security-manager-era subject API
 * into the same call on {@link Subjects}, which has the same descriptors. Nothing else in the class
 * changes; a class without such calls is returned as {@code null} (untouched) without being parsed.
 */
public final class SubjectCallRewriter {
    private static final ClassDesc SUBJECTS = ClassDesc.of(Subjects.class.getName());
    private static final String SUBJECT = "javax/security/auth/Subject";
    private static final String ACCESS_CONTROLLER = "java/security/AccessController";

    /** owner.name+descriptor of the calls rewritten; the replacement has the same name and descriptor. */
    private static final Set<String> TARGETS = Set.of(
            SUBJECT + ".getSubject(Ljava/security/AccessControlContext;)Ljavax/security/auth/Subject;",
            ACCESS_CONTROLLER
                    + ".doPrivileged(Ljava/security/PrivilegedAction;Ljava/security/AccessControlContext;)Ljava/lang/Object;",
            ACCESS_CONTROLLER
                    + ".doPrivileged(Ljava/security/PrivilegedExceptionAction;Ljava/security/AccessControlContext;)Ljava/lang/Object;",
            SUBJECT + ".doAs(Ljavax/security/auth/Subject;Ljava/security/PrivilegedAction;)Ljava/lang/Object;",
            SUBJECT
                    + ".doAs(Ljavax/security/auth/Subject;Ljava/security/PrivilegedExceptionAction;)Ljava/lang/Object;");

    private static final byte[][] MARKERS = {bytes(SUBJECT), bytes(ACCESS_CONTROLLER)};

    private SubjectCallRewriter() {}

    /**
     * Rewrites a class's calls that need the security manager's subject into calls that work without one.
     *
     * @param loader the class's defining loader, used to resolve types when stack maps are recomputed
     * @return the rewritten class file, or {@code null} when it has no call to rewrite
     */
    public static byte[] rewrite(byte[] classFile, ClassLoader loader) {
        if (!mentionsTargetOwner(classFile)) {
            return null;
        }
        ClassFile cf = ClassFile.of(ClassFile.ClassHierarchyResolverOption.of(ClassHierarchyResolver.defaultResolver()
                .orElse(ClassHierarchyResolver.ofResourceParsing(
                        loader != null ? loader : ClassLoader.getPlatformClassLoader()))));
        ClassModel model = cf.parse(classFile);
        boolean[] changed = {false};
        CodeTransform calls = (code, element) -> {
            if (element instanceof InvokeInstruction call
                    && call.opcode() == Opcode.INVOKESTATIC
                    && TARGETS.contains(call.owner().asInternalName() + "."
                            + call.name().stringValue() + call.type().stringValue())) {
                code.invokestatic(SUBJECTS, call.name().stringValue(), call.typeSymbol());
                changed[0] = true;
            } else {
                code.with(element);
            }
        };
        byte[] rewritten = cf.transformClass(model, ClassTransform.transformingMethodBodies(calls));
        return changed[0] ? rewritten : null;
    }

    /** A cheap byte search, so that the vast majority of classes is never parsed. */
    static boolean mentionsTargetOwner(byte[] classFile) {
        for (byte[] marker : MARKERS) {
            if (indexOf(classFile, marker) >= 0) {
                return true;
            }
        }
        return false;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
