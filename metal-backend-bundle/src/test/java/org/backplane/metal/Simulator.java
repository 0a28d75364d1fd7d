package org.backplane.metal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The Metal simulator's control interface ({@code bpsim_control.h}) for tests: fault injection and
 * the call log. Exists only where the tests run against the simulator (Linux).
 */
public final class Simulator {
    private static final Linker LINKER = Linker.nativeLinker();
    private static Simulator instance;

    private final MethodHandle reset;
    private final MethodHandle failCommandBuffer;
    private final MethodHandle innocentVictim;
    private final MethodHandle invalidStatus;
    private final MethodHandle failAllocations;
    private final MethodHandle failNextCompile;
    private final MethodHandle delayHandlers;
    private final MethodHandle setMemoryLimit;
    private final MethodHandle allocatedBytes;
    private final MethodHandle pendingHandlers;
    private final MethodHandle callsTotal;
    private final MethodHandle callsFor;
    private final MethodHandle logTail;

    private Simulator(String path) {
        SymbolLookup lib = SymbolLookup.libraryLookup(path, Arena.global());
        reset = handle(lib, "bpsim_reset", FunctionDescriptor.ofVoid());
        failCommandBuffer =
                handle(lib, "bpsim_fail_command_buffer", FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG, JAVA_LONG));
        innocentVictim = handle(lib, "bpsim_innocent_victim", FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG));
        invalidStatus = handle(lib, "bpsim_invalid_status", FunctionDescriptor.ofVoid(ADDRESS));
        failAllocations = handle(lib, "bpsim_fail_allocations", FunctionDescriptor.ofVoid(JAVA_LONG));
        failNextCompile = handle(lib, "bpsim_fail_next_compile", FunctionDescriptor.ofVoid(ADDRESS));
        delayHandlers = handle(lib, "bpsim_delay_handlers", FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG));
        setMemoryLimit = handle(lib, "bpsim_set_memory_limit", FunctionDescriptor.ofVoid(JAVA_LONG));
        allocatedBytes = handle(lib, "bpsim_allocated_bytes", FunctionDescriptor.of(JAVA_LONG));
        pendingHandlers = handle(lib, "bpsim_pending_handlers", FunctionDescriptor.of(JAVA_LONG));
        callsTotal = handle(lib, "bpsim_calls_total", FunctionDescriptor.of(JAVA_LONG));
        callsFor = handle(lib, "bpsim_calls_for", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        logTail = handle(lib, "bpsim_log_tail", FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_LONG));
    }

    private static MethodHandle handle(SymbolLookup lib, String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(
                lib.find(name).orElseThrow(() -> new IllegalStateException(name + " missing")), fd);
    }

    /** The library the tests run against ({@code backplane.metal.library}); empty on a Mac. */
    public static String library() {
        return System.getProperty("backplane.metal.library", "").trim();
    }

    /** Whether the tests run against the simulator. */
    public static boolean active() {
        return !library().isEmpty() && System.getProperty("os.name", "").equals("Linux");
    }

    public static synchronized Simulator get() {
        if (!active()) {
            throw new IllegalStateException("not running against the Metal simulator");
        }
        if (instance == null) {
            instance = new Simulator(library());
        }
        return instance;
    }

    private interface Call {
        Object run(Arena a) throws Throwable;
    }

    private static Object call(Call c) {
        try (Arena a = Arena.ofConfined()) {
            return c.run(a);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public void reset() {
        call(a -> {
            reset.invokeExact();
            return null;
        });
    }

    /** The command buffer on queues labelled {@code label} ("*": any) after {@code skip} others fails with {@code code}. */
    public void failCommandBuffer(String label, long skip, long code) {
        call(a -> {
            failCommandBuffer.invokeExact(a.allocateFrom(label), skip, code);
            return null;
        });
    }

    public void innocentVictim(String label, long skip) {
        call(a -> {
            innocentVictim.invokeExact(a.allocateFrom(label), skip);
            return null;
        });
    }

    public void invalidStatus(String label) {
        call(a -> {
            invalidStatus.invokeExact(a.allocateFrom(label));
            return null;
        });
    }

    public void failAllocations(long count) {
        call(a -> {
            failAllocations.invokeExact(count);
            return null;
        });
    }

    public void failNextCompile(String message) {
        call(a -> {
            failNextCompile.invokeExact(a.allocateFrom(message));
            return null;
        });
    }

    public void delayHandlers(String label, long millis) {
        call(a -> {
            delayHandlers.invokeExact(a.allocateFrom(label), millis);
            return null;
        });
    }

    /** Holds the completion handlers of queues labelled {@code label} until {@link #releaseHandlers}. */
    public void holdHandlers(String label) {
        delayHandlers(label, -1);
    }

    public void releaseHandlers(String label) {
        delayHandlers(label, 0);
    }

    public void setMemoryLimit(long bytes) {
        call(a -> {
            setMemoryLimit.invokeExact(bytes);
            return null;
        });
    }

    public long allocatedBytes() {
        return (long) call(a -> (long) allocatedBytes.invokeExact());
    }

    public long pendingHandlers() {
        return (long) call(a -> (long) pendingHandlers.invokeExact());
    }

    /**
     * Waits until no completion handler is pending anywhere in the simulator. The simulator is one
     * per JVM: work that a previous test left running after its backend stopped (Metal cannot
     * cancel committed command buffers) still executes, and its handlers would count as this
     * test's. Bounded; a test that then counts handlers fails on its own assertion.
     */
    public void awaitQuiet() throws InterruptedException {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (pendingHandlers() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    /** Every Objective-C message the simulator's objects received since the last reset. */
    public long callsTotal() {
        return (long) call(a -> (long) callsTotal.invokeExact());
    }

    /** Messages received by the queue labelled {@code label} (a stream's id) and its command buffers and encoders. */
    public long callsFor(String label) {
        return (long) call(a -> (long) callsFor.invokeExact(a.allocateFrom(label)));
    }

    public String logTail() {
        return (String) call(a -> {
            MemorySegment buf = a.allocate(16384);
            long n = (long) logTail.invokeExact(buf, 16384L);
            return n <= 0 ? "" : buf.getString(0);
        });
    }
}
