package org.backplane.isolation.internal.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.RecordComponent;
import java.nio.ByteBuffer;
import org.backplane.api.ErrorKind;
import org.backplane.api.fault.FaultRule;
import org.backplane.spi.Op;
import org.backplane.spi.Scalar;
import org.junit.jupiter.api.Test;

/** Every op crosses the boundary unchanged, without a line of code per op; nothing foreign is built. */
class ValuesTest {
    private final Values values = new Values(ValuesTest.class.getClassLoader());

    @Test
    void everyOpOfTheSealedInterfaceRoundTrips() throws Exception {
        Class<?>[] ops = Op.class.getPermittedSubclasses();
        assertThat(ops).hasSizeGreaterThan(15);
        for (Class<?> type : ops) {
            Object op = sample(type);
            assertThat(roundTrip(op)).as(type.getSimpleName()).isEqualTo(op);
        }
    }

    @Test
    void faultRulesAndNullsRoundTrip() {
        FaultRule rule = FaultRule.fraction("worker-*", 0.25, 42, ErrorKind.PAGE_FAULT)
                .withNativeCode(700)
                .withMessage("x");
        assertThat(roundTrip(rule)).isEqualTo(rule);
        assertThat(roundTrip(null)).isNull();
        assertThat(roundTrip(Scalar.of(Long.MAX_VALUE))).isEqualTo(Scalar.of(Long.MAX_VALUE));
    }

    @Test
    void classesOutsideBackplaneAreNeverBuiltFromTheWire() {
        Frame f = new Frame(Message.COMMIT).putByte((byte) 8).putString("java.lang.ProcessBuilder");
        assertThatThrownBy(() -> values.read(reader(f)))
                .isInstanceOf(WireException.class)
                .hasMessageContaining("refusing");
        assertThatThrownBy(() -> values.write(new Frame(Message.COMMIT), new Object()))
                .isInstanceOf(WireException.class);
    }

    private Object roundTrip(Object v) {
        Frame f = new Frame(Message.COMMIT);
        values.write(f, v);
        return values.read(reader(f));
    }

    private static FrameReader reader(Frame f) {
        ByteBuffer b = f.toBuffer();
        b.position(Integer.BYTES);
        FrameReader in = new FrameReader(b.slice());
        assertThat(in.type()).isEqualTo(Message.COMMIT);
        return in;
    }

    /** An instance with a distinct, non-default value for each component. */
    private static Object sample(Class<?> type) throws Exception {
        RecordComponent[] components = type.getRecordComponents();
        Class<?>[] types = new Class<?>[components.length];
        Object[] args = new Object[components.length];
        for (int i = 0; i < components.length; i++) {
            types[i] = components[i].getType();
            args[i] = value(types[i], i);
        }
        return type.getDeclaredConstructor(types).newInstance(args);
    }

    private static Object value(Class<?> t, int i) {
        if (t == int.class) {
            return i + 2;
        } else if (t == long.class) {
            return i + 7L;
        } else if (t == float.class) {
            return 0.5f + i;
        } else if (t == double.class) {
            return 1.25 + i;
        } else if (t == boolean.class) {
            return i % 2 == 0;
        } else if (t == Scalar.class) {
            return Scalar.of(3.5);
        } else if (t.isEnum()) {
            Object[] constants = t.getEnumConstants();
            return constants[constants.length - 1];
        }
        throw new AssertionError("an op component of type " + t + " needs a case here and in Values");
    }
}
