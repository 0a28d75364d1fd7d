package org.backplane.cpu.internal.blas;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The C library's {@code dlopen}, {@code dlsym} and {@code dlclose}, for native libraries that stay
 * loaded for the life of the process once loaded ({@code RTLD_NODELETE}). Unloading a library that
 * started threads of its own (OpenBLAS does, at load) is a hazard in a host that redeploys bundles
 * hundreds of times, and loading it again each time costs a copy of 40 MB and a fresh thread pool;
 * so a later load finds the loaded one by its {@code soname} ({@code RTLD_NOLOAD}) and costs
 * nothing. Linux and other glibc or musl systems (the flag values below are theirs).
 */
final class ResidentLibraries {
    private static final int RTLD_NOW = 0x2;
    private static final int RTLD_NOLOAD = 0x4;
    private static final int RTLD_NODELETE = 0x1000;

    private final MethodHandle dlopen;
    private final MethodHandle dlsym;
    private final MethodHandle dlclose;
    private final MethodHandle dlerror;

    /** @throws IllegalStateException where the C library has no {@code dlopen} */
    ResidentLibraries() {
        Linker linker = Linker.nativeLinker();
        SymbolLookup c = linker.defaultLookup();
        this.dlopen = linker.downcallHandle(
                find(c, "dlopen"),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        this.dlsym = linker.downcallHandle(
                find(c, "dlsym"), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        this.dlclose = linker.downcallHandle(
                find(c, "dlclose"), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        this.dlerror = linker.downcallHandle(find(c, "dlerror"), FunctionDescriptor.of(ValueLayout.ADDRESS));
    }

    private static MemorySegment find(SymbolLookup lookup, String name) {
        return lookup.find(name).orElseThrow(() -> new IllegalStateException("the C library has no " + name));
    }

    /** The library already loaded in this process under {@code soname} (by anyone), if there is one. */
    Optional<MemorySegment> loaded(String soname) {
        MemorySegment h = open(soname, RTLD_NOW | RTLD_NOLOAD);
        return h.equals(MemorySegment.NULL) ? Optional.empty() : Optional.of(h);
    }

    /**
     * Loads {@code file}, never to be unloaded.
     *
     * @throws IllegalStateException with the loader's reason if it cannot be loaded
     */
    MemorySegment loadResident(Path file) {
        MemorySegment h = open(file.toString(), RTLD_NOW | RTLD_NODELETE);
        if (h.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("cannot load " + file + ": " + error());
        }
        return h;
    }

    /** {@code dlopen(name, flags)}: the handle, or NULL. */
    private MemorySegment open(String name, int flags) {
        try (Arena a = Arena.ofConfined()) {
            return (MemorySegment) dlopen.invokeExact(a.allocateFrom(name), flags);
        } catch (Throwable t) {
            throw new IllegalStateException("dlopen failed", t);
        }
    }

    /** The symbols of a loaded library. */
    SymbolLookup symbols(MemorySegment library) {
        return name -> {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment s = (MemorySegment) dlsym.invokeExact(library, a.allocateFrom(name));
                return s.equals(MemorySegment.NULL) ? Optional.empty() : Optional.of(s);
            } catch (Throwable t) {
                throw new IllegalStateException("dlsym failed", t);
            }
        };
    }

    /** Gives back one reference to a library; a resident one stays loaded all the same. */
    void release(MemorySegment library) {
        try {
            int ignored = (int) dlclose.invokeExact(library);
        } catch (Throwable t) {
            throw new IllegalStateException("dlclose failed", t);
        }
    }

    private String error() {
        try {
            MemorySegment e = (MemorySegment) dlerror.invokeExact();
            return e.equals(MemorySegment.NULL)
                    ? "no reason given"
                    : e.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return "no reason given (" + t + ")";
        }
    }
}
