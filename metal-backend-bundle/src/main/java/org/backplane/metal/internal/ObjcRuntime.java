package org.backplane.metal.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Objective-C message sends through FFM. A message is a call of the method's implementation with
 * the receiver, the selector and the arguments; the downcall's signature must match that call site
 * exactly (there is no variadic {@code objc_msgSend}). Apple's runtime is called through
 * {@code objc_msgSend} itself, the GCC runtime through the implementation that
 * {@code objc_msg_lookup} returns: see {@link MetalPlatform}.
 *
 * <p>The libraries are loaded into the global arena and never unloaded: the Objective-C runtime
 * cannot unload classes, and the simulator's (or Metal's) threads may still be returning from a
 * completion handler when a backend stops. Everything a backend instance creates (arenas, upcall
 * stubs, objects) is its own and released by it.
 */
final class ObjcRuntime {
    private static final Linker LINKER = Linker.nativeLinker();

    /** Metal's {@code MTLSize}: three {@code NSUInteger}s, passed by value. */
    static final StructLayout MTL_SIZE = MemoryLayout.structLayout(
            JAVA_LONG.withName("width"), JAVA_LONG.withName("height"), JAVA_LONG.withName("depth"));

    // Call shapes, named after (return, arguments after receiver and selector): P pointer or id, L
    // NSUInteger/NSInteger,
    // B BOOL, V void, S MTLSize.
    private static final MethodHandle P = send(FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle L = send(FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS));
    private static final MethodHandle V = send(FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
    private static final MethodHandle V_P = send(FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle V_B = send(FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_BYTE));
    private static final MethodHandle P_P = send(FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle P_LL =
            send(FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle P_PP = send(FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle P_PPP =
            send(FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle V_PLL =
            send(FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle V_SS = send(FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, MTL_SIZE, MTL_SIZE));

    final MetalPlatform platform;
    private final SymbolLookup metal;
    private final MethodHandle getClass;
    private final MethodHandle registerName;
    private final MethodHandle msgLookup;
    private final MemorySegment msgSend;
    private final MethodHandle poolPush;
    private final MethodHandle poolPop;
    final MemorySegment stackBlockClass;
    private final Map<String, MemorySegment> selectors = new ConcurrentHashMap<>();
    private final Map<String, MemorySegment> classes = new ConcurrentHashMap<>();

    /** Loads the runtime, the blocks runtime and Metal; throws (saying which) if one cannot be loaded. */
    ObjcRuntime(MetalPlatform platform) {
        this.platform = platform;
        Arena forever = Arena.global();
        SymbolLookup objc = load(platform.objc(), forever, "the Objective-C runtime");
        SymbolLookup blocks = load(platform.blocks(), forever, "the blocks runtime");
        this.metal = load(platform.metal(), forever, "Metal");
        this.getClass = LINKER.downcallHandle(find(objc, "objc_getClass"), FunctionDescriptor.of(ADDRESS, ADDRESS));
        this.registerName =
                LINKER.downcallHandle(find(objc, "sel_registerName"), FunctionDescriptor.of(ADDRESS, ADDRESS));
        if (platform.apple()) {
            this.msgSend = find(objc, "objc_msgSend");
            this.msgLookup = null;
        } else {
            this.msgSend = null;
            this.msgLookup = LINKER.downcallHandle(
                    find(objc, "objc_msg_lookup"), FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        }
        // Apple's runtime has autorelease pools; the GCC runtime has none, and the simulator supplies them.
        Optional<MemorySegment> push =
                objc.find("objc_autoreleasePoolPush").or(() -> metal.find("objc_autoreleasePoolPush"));
        Optional<MemorySegment> pop =
                objc.find("objc_autoreleasePoolPop").or(() -> metal.find("objc_autoreleasePoolPop"));
        this.poolPush = push.map(a -> LINKER.downcallHandle(a, FunctionDescriptor.of(ADDRESS)))
                .orElse(null);
        this.poolPop = pop.map(a -> LINKER.downcallHandle(a, FunctionDescriptor.ofVoid(ADDRESS)))
                .orElse(null);
        this.stackBlockClass = find(blocks, "_NSConcreteStackBlock");
    }

    private static MethodHandle send(FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(descriptor); // the target address comes first at each call
    }

    private static SymbolLookup load(String library, Arena arena, String what) {
        try {
            return SymbolLookup.libraryLookup(library, arena);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(what + " (" + library + ") could not be loaded: " + e.getMessage(), e);
        }
    }

    private static MemorySegment find(SymbolLookup lookup, String name) {
        return lookup.find(name).orElseThrow(() -> new IllegalStateException("symbol " + name + " not found"));
    }

    /** The function to call for {@code receiver} and {@code selector}: objc_msgSend, or the method found. */
    MemorySegment target(MemorySegment receiver, MemorySegment selector) {
        if (msgSend != null) {
            return msgSend;
        }
        try {
            return (MemorySegment) msgLookup.invokeExact(receiver, selector);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    MemorySegment sel(String name) {
        return selectors.computeIfAbsent(name, n -> {
            try (Arena a = Arena.ofConfined()) {
                return (MemorySegment) registerName.invokeExact(a.allocateFrom(n));
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        });
    }

    /** The class object named {@code name}; throws if the runtime has no such class. */
    MemorySegment cls(String name) {
        return classes.computeIfAbsent(name, n -> {
            MemorySegment c;
            try (Arena a = Arena.ofConfined()) {
                c = (MemorySegment) getClass.invokeExact(a.allocateFrom(n));
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
            if (c.equals(MemorySegment.NULL)) {
                throw new IllegalStateException("the Objective-C runtime has no class " + n);
            }
            return c;
        });
    }

    /** Opens an autorelease pool on this thread (Apple's rule for code outside an event loop); pair with {@link #popPool}. */
    MemorySegment pushPool() {
        if (poolPush == null) {
            return MemorySegment.NULL;
        }
        try {
            return (MemorySegment) poolPush.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    void popPool(MemorySegment pool) {
        if (poolPop == null) {
            return;
        }
        try {
            poolPop.invokeExact(pool);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    // ------------------------------------------------------------------ typed sends

    MemorySegment id(MemorySegment receiver, String selector) {
        MemorySegment s = sel(selector);
        try {
            return (MemorySegment) P.invokeExact(target(receiver, s), receiver, s);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment id(MemorySegment receiver, String selector, MemorySegment arg) {
        MemorySegment s = sel(selector);
        try {
            return (MemorySegment) P_P.invokeExact(target(receiver, s), receiver, s, arg);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long word(MemorySegment receiver, String selector) {
        MemorySegment s = sel(selector);
        try {
            return (long) L.invokeExact(target(receiver, s), receiver, s);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void send(MemorySegment receiver, String selector) {
        MemorySegment s = sel(selector);
        try {
            V.invokeExact(target(receiver, s), receiver, s);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void send(MemorySegment receiver, String selector, MemorySegment arg) {
        MemorySegment s = sel(selector);
        try {
            V_P.invokeExact(target(receiver, s), receiver, s, arg);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void sendBool(MemorySegment receiver, String selector, boolean value) {
        MemorySegment s = sel(selector);
        try {
            V_B.invokeExact(target(receiver, s), receiver, s, (byte) (value ? 1 : 0));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment id(MemorySegment receiver, String selector, MemorySegment a, MemorySegment b) {
        MemorySegment s = sel(selector);
        try {
            return (MemorySegment) P_PP.invokeExact(target(receiver, s), receiver, s, a, b);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment id(MemorySegment receiver, String selector, MemorySegment a, MemorySegment b, MemorySegment c) {
        MemorySegment s = sel(selector);
        try {
            return (MemorySegment) P_PPP.invokeExact(target(receiver, s), receiver, s, a, b, c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment id(MemorySegment receiver, String selector, long a, long b) {
        MemorySegment s = sel(selector);
        try {
            return (MemorySegment) P_LL.invokeExact(target(receiver, s), receiver, s, a, b);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void send(MemorySegment receiver, String selector, MemorySegment pointer, long a, long b) {
        MemorySegment s = sel(selector);
        try {
            V_PLL.invokeExact(target(receiver, s), receiver, s, pointer, a, b);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A message whose two arguments are {@code MTLSize} structs, passed by value. */
    void sendSizes(MemorySegment receiver, String selector, MemorySegment size1, MemorySegment size2) {
        MemorySegment s = sel(selector);
        try {
            V_SS.invokeExact(target(receiver, s), receiver, s, size1, size2);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code MTLCreateSystemDefaultDevice()}: the system's default GPU (+1: the caller releases it).
     *
     * @throws IllegalStateException if the Metal library lacks the function or there is no device
     */
    MemorySegment newSystemDefaultDevice() {
        MemorySegment function = metal.find("MTLCreateSystemDefaultDevice")
                .orElseThrow(
                        () -> new IllegalStateException(platform.metal() + " has no MTLCreateSystemDefaultDevice"));
        MemorySegment device;
        try {
            device = (MemorySegment) LINKER.downcallHandle(function, FunctionDescriptor.of(ADDRESS))
                    .invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (device.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("Metal reports no device (MTLCreateSystemDefaultDevice returned nil)");
        }
        return device;
    }

    void retain(MemorySegment object) {
        if (!object.equals(MemorySegment.NULL)) {
            id(object, "retain");
        }
    }

    void release(MemorySegment object) {
        if (!object.equals(MemorySegment.NULL)) {
            send(object, "release");
        }
    }

    /** A new NSString (+1: the caller releases it). */
    MemorySegment newString(String text, Arena arena) {
        MemorySegment allocated = id(cls("NSString"), "alloc");
        return id(allocated, "initWithUTF8String:", arena.allocateFrom(text));
    }

    /** The UTF-8 text of an NSString; empty for nil. */
    String string(MemorySegment nsString) {
        if (nsString.equals(MemorySegment.NULL)) {
            return "";
        }
        MemorySegment utf8 = id(nsString, "UTF8String");
        return utf8.equals(MemorySegment.NULL)
                ? ""
                : utf8.reinterpret(Integer.MAX_VALUE).getString(0);
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof Error e) {
            throw e;
        }
        return t instanceof RuntimeException r ? r : new IllegalStateException(t);
    }
}
