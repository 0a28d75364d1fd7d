package org.backplane.metal.internal;

import java.lang.foreign.MemorySegment;

/** Whether this machine can run the Metal backend, and if not, why, in words an operator can act on. */
public record MetalAvailability(boolean available, String reason) {

    /** Loads the libraries (for good: see {@link ObjcRuntime}) and asks Metal for a device; never throws. */
    public static MetalAvailability probe(String library) {
        try {
            MetalPlatform platform = MetalPlatform.detect(library);
            ObjcRuntime rt = new ObjcRuntime(platform);
            MemorySegment device = rt.newSystemDefaultDevice();
            MemorySegment pool = rt.pushPool();
            try {
                return new MetalAvailability(true, rt.string(rt.id(device, "name")) + " (" + platform.describe() + ")");
            } finally {
                rt.release(device);
                rt.popPool(pool);
            }
        } catch (IllegalStateException e) {
            return new MetalAvailability(false, e.getMessage());
        } catch (Throwable t) {
            return new MetalAvailability(false, "probing Metal failed: " + t);
        }
    }
}
