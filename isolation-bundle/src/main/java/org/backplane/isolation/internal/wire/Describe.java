package org.backplane.isolation.internal.wire;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.backplane.api.Capabilities;
import org.backplane.api.DType;
import org.backplane.api.DeviceInfo;
import org.backplane.api.Shape;

/** The plain values both sides exchange: shapes, the device, capabilities, configurations. */
public final class Describe {
    private Describe() {}

    public static void shape(Frame f, Shape s) {
        f.putByte((byte) s.rank());
        for (int i = 0; i < s.rank(); i++) {
            f.putInt(s.dim(i));
        }
    }

    public static Shape shape(FrameReader in) {
        int[] dims = new int[in.getByte()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = in.getInt();
        }
        return Shape.of(dims);
    }

    public static void strings(Frame f, Map<String, String> map) {
        f.putInt(map.size());
        map.forEach((k, v) -> f.putString(k).putString(v));
    }

    public static Map<String, String> strings(FrameReader in) {
        int n = in.getInt();
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            map.put(in.getString(), in.getString());
        }
        return map;
    }

    public static void device(Frame f, DeviceInfo d) {
        f.putString(d.name()).putString(d.vendor()).putLong(d.memoryBytes()).putInt(d.computeUnits());
        strings(f, d.details());
    }

    public static DeviceInfo device(FrameReader in) {
        return new DeviceInfo(in.getString(), in.getString(), in.getLong(), in.getInt(), strings(in));
    }

    public static void capabilities(Frame f, Capabilities c) {
        f.putInt(c.dtypes().size());
        for (DType t : c.dtypes()) {
            f.putEnum(t);
        }
        f.putLong(c.maxArrayBytes())
                .putInt(c.maxRank())
                .putBoolean(c.faultInjection())
                .putString(c.kernels());
    }

    public static Capabilities capabilities(FrameReader in) {
        int n = in.getInt();
        Set<DType> types = EnumSet.noneOf(DType.class);
        for (int i = 0; i < n; i++) {
            types.add(in.getEnum(DType.values()));
        }
        return new Capabilities(types, in.getLong(), in.getInt(), in.getBoolean(), in.getString());
    }
}
