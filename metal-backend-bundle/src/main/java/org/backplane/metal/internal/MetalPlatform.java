package org.backplane.metal.internal;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one seam between macOS and Linux: which libraries hold the Objective-C runtime, the blocks
 * runtime and Metal, and how a message is sent. Everything else in this bundle is the same code on
 * both.
 *
 * <ul>
 * <li>macOS: Apple's runtime ({@code objc_msgSend}, called with each call site's exact signature),
 *     {@code _NSConcreteStackBlock} from libSystem, Metal.framework.</li>
 * <li>Linux: the GCC runtime ({@code objc_msg_lookup} finds the method, which is then called with
 *     the same signature), libBlocksRuntime, and the Metal simulator built by {@code metal-simulator}
 *     (tests only: there is no Metal on Linux).</li>
 * </ul>
 *
 * @param apple whether this is Apple's runtime
 * @param objc the Objective-C runtime library
 * @param blocks the library defining {@code _NSConcreteStackBlock}
 * @param metal Metal.framework, or the simulator
 */
public record MetalPlatform(boolean apple, String objc, String blocks, String metal) {
    /** Where Metal lives on every Mac. */
    public static final String METAL_FRAMEWORK = "/System/Library/Frameworks/Metal.framework/Metal";
    /** Framework or system property naming the Metal library to load (on Linux: the simulator). */
    public static final String LIBRARY_PROPERTY = "backplane.metal.library";

    /**
     * The platform of this JVM, with {@code metalLibrary} (a path; empty for the default) as Metal.
     *
     * @throws IllegalStateException saying why Metal cannot run here
     */
    public static MetalPlatform detect(String metalLibrary) {
        String os = System.getProperty("os.name", "");
        String configured = metalLibrary == null ? "" : metalLibrary.trim();
        if (os.startsWith("Mac")) {
            return new MetalPlatform(
                    true,
                    "/usr/lib/libobjc.A.dylib",
                    "/usr/lib/libSystem.B.dylib",
                    configured.isEmpty() ? METAL_FRAMEWORK : configured);
        }
        if (!os.equals("Linux")) {
            throw new IllegalStateException("Metal runs on macOS; this is " + os);
        }
        if (configured.isEmpty()) {
            throw new IllegalStateException(
                    "Metal is Apple-only and this is Linux; the Metal backend runs here only against the "
                            + "Metal simulator, for testing (set the configuration property 'library' of org.backplane.backend.metal, or "
                            + "the property " + LIBRARY_PROPERTY + ", to the path of libbackplane-metal-sim.so)");
        }
        if (!Files.isRegularFile(Path.of(configured))) {
            throw new IllegalStateException("the Metal library " + configured + " does not exist");
        }
        return new MetalPlatform(false, "libobjc.so.4", "libBlocksRuntime.so.0", configured);
    }

    /** {@code "macOS, Apple Objective-C runtime"} or {@code "Linux, GCC Objective-C runtime, Metal simulator"}. */
    public String describe() {
        return apple
                ? "macOS, Apple Objective-C runtime, " + metal
                : "Linux, GCC Objective-C runtime, Metal simulator " + metal;
    }
}
