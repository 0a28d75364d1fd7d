package org.backplane.isolation.internal.wire;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Constructor;
import java.lang.reflect.RecordComponent;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Writes and reads the values ops are made of: records (an {@code Op}, a {@code Scalar}, a
 * {@code FaultRule}) of primitives, strings, enums and further records, by their components. Any op
 * added to the sealed {@code Op} crosses the boundary without a line here. Only Backplane's own
 * classes are ever instantiated from the wire.
 */
public final class Values {
    private static final byte NULL = 0;
    private static final byte INT = 1;
    private static final byte LONG = 2;
    private static final byte FLOAT = 3;
    private static final byte DOUBLE = 4;
    private static final byte BOOLEAN = 5;
    private static final byte STRING = 6;
    private static final byte ENUM = 7;
    private static final byte RECORD = 8;

    private static final String OURS = "org.backplane.";

    /** A record class's component accessors and canonical constructor. */
    private static final class Shape {
        final MethodHandle[] accessors;
        /** The constructor taking its arguments as one {@code Object[]}. */
        final MethodHandle constructor;

        Shape(MethodHandle[] accessors, MethodHandle constructor) {
            this.accessors = accessors;
            this.constructor = constructor
                    .asSpreader(Object[].class, accessors.length)
                    .asType(MethodType.methodType(Object.class, Object[].class));
        }
    }

    private final ConcurrentHashMap<Class<?>, Shape> shapes = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Class<?>> classes = new ConcurrentHashMap<>();
    private final ClassLoader loader;

    /** @param loader where the classes named on the wire are found */
    public Values(ClassLoader loader) {
        this.loader = loader;
    }

    public void write(Frame f, Object v) {
        switch (v) {
            case null -> f.putByte(NULL);
            case Integer i -> f.putByte(INT).putInt(i);
            case Long l -> f.putByte(LONG).putLong(l);
            case Float x -> f.putByte(FLOAT).putFloat(x);
            case Double d -> f.putByte(DOUBLE).putDouble(d);
            case Boolean b -> f.putByte(BOOLEAN).putBoolean(b);
            case String s -> f.putByte(STRING).putString(s);
            case Enum<?> e ->
                f.putByte(ENUM).putString(e.getDeclaringClass().getName()).putString(e.name());
            case Record r -> {
                Shape s = shape(r.getClass());
                f.putByte(RECORD).putString(r.getClass().getName());
                for (MethodHandle accessor : s.accessors) {
                    try {
                        write(f, accessor.invoke(r));
                    } catch (RuntimeException | Error e) {
                        throw e;
                    } catch (Throwable t) {
                        throw new WireException("cannot read a component of " + r, t);
                    }
                }
            }
            default -> throw new WireException("cannot send a " + v.getClass().getName());
        }
    }

    public Object read(FrameReader in) {
        byte tag = in.getByte();
        return switch (tag) {
            case NULL -> null;
            case INT -> in.getInt();
            case LONG -> in.getLong();
            case FLOAT -> in.getFloat();
            case DOUBLE -> in.getDouble();
            case BOOLEAN -> in.getBoolean();
            case STRING -> in.getString();
            case ENUM -> enumValue(type(in.getString()), in.getString());
            case RECORD -> {
                Class<?> type = type(in.getString());
                Shape s = shape(type);
                Object[] args = new Object[s.accessors.length];
                for (int i = 0; i < args.length; i++) {
                    args[i] = read(in);
                }
                try {
                    yield (Object) s.constructor.invokeExact(args);
                } catch (RuntimeException | Error e) {
                    throw e;
                } catch (Throwable t) {
                    throw new WireException("cannot build a " + type.getName(), t);
                }
            }
            default -> throw new WireException("unknown value tag " + tag);
        };
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object enumValue(Class<?> type, String name) {
        if (!type.isEnum()) {
            throw new WireException(type.getName() + " is not an enum");
        }
        return Enum.valueOf((Class) type, name);
    }

    private Class<?> type(String name) {
        if (name == null || !name.startsWith(OURS)) {
            throw new WireException("refusing to build a " + name + " from the wire");
        }
        return classes.computeIfAbsent(name, n -> {
            try {
                return Class.forName(n, true, loader);
            } catch (ClassNotFoundException e) {
                throw new WireException("no class " + n + " here", e);
            }
        });
    }

    private Shape shape(Class<?> type) {
        return shapes.computeIfAbsent(type, t -> {
            if (!t.isRecord() || !t.getName().startsWith(OURS)) {
                throw new WireException("cannot send or build a " + t.getName());
            }
            RecordComponent[] components = t.getRecordComponents();
            MethodHandle[] accessors = new MethodHandle[components.length];
            Class<?>[] types = new Class<?>[components.length];
            MethodHandles.Lookup lookup = MethodHandles.publicLookup();
            try {
                for (int i = 0; i < components.length; i++) {
                    accessors[i] = lookup.unreflect(components[i].getAccessor());
                    types[i] = components[i].getType();
                }
                Constructor<?> c = t.getDeclaredConstructor(types);
                return new Shape(accessors, lookup.unreflectConstructor(c));
            } catch (ReflectiveOperationException e) {
                throw new WireException("record " + t.getName() + " is not public", e);
            }
        });
    }
}
