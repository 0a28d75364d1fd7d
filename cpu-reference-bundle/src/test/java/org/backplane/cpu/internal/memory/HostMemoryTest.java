package org.backplane.cpu.internal.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.ValueLayout;
import org.backplane.api.DType;
import org.junit.jupiter.api.Test;

/** The CPU backend's native array memory: size classes, the capacity, the pool, and a buffer never freed under its users. */
class HostMemoryTest {
    private static final long MIB = 1L << 20;

    @Test
    void blocksComeInClassesNoMoreThanAThirtySecondLargerThanWhatTheyHold() {
        assertThat(SizeClasses.of(1)).isEqualTo(16);
        assertThat(SizeClasses.of(17)).isEqualTo(32);
        assertThat(SizeClasses.of(256)).isEqualTo(256);
        assertThat(SizeClasses.of(MIB)).isEqualTo(MIB);
        assertThat(SizeClasses.of(500)).isEqualTo(512);
        for (long bytes = 513; bytes < (64 * MIB); bytes = bytes * 3 / 2 + 7) {
            long size = SizeClasses.of(bytes);
            assertThat(size).isGreaterThanOrEqualTo(bytes);
            assertThat((double) (size - bytes) / bytes)
                    .as("%d bytes in %d", bytes, size)
                    .isLessThanOrEqualTo(1 / 32.0);
        }
    }

    @Test
    void aBufferHoldsExactlyItsElementsAlignedForAnyVector() {
        try (HostMemory memory = new HostMemory(64 * MIB)) {
            NativeBuffer b = memory.allocate(DType.FLOAT16, 1001);
            assertThat(b.segment().byteSize()).isEqualTo(2002);
            assertThat(b.segment().address() % 64).isZero();
            b.segment().setAtIndex(ValueLayout.JAVA_SHORT, 1000, (short) 7);
            assertThat(b.segment().getAtIndex(ValueLayout.JAVA_SHORT, 1000)).isEqualTo((short) 7);
        }
    }

    @Test
    void theCapacityRefusesWithTheFiguresAndAClosedArrayMakesRoom() {
        try (HostMemory memory = new HostMemory(8 * MIB)) {
            NativeBuffer a = memory.allocate(DType.FLOAT32, 3 * MIB / 4);
            NativeBuffer b = memory.allocate(DType.FLOAT32, 3 * MIB / 4);
            assertThatThrownBy(() -> memory.allocate(DType.FLOAT32, 3 * MIB / 4))
                    .isInstanceOf(HostMemoryExhausted.class)
                    .hasMessageContaining("hold 6.0 of its 8.0 MiB")
                    .hasMessageContaining("needs 3.0 MiB");
            a.close();
            NativeBuffer c = memory.allocate(DType.FLOAT32, 3 * MIB / 4);
            assertThat(memory.inUse()).isEqualTo(6 * MIB);
            b.close();
            c.close();
        }
    }

    @Test
    void aDerivedFormIsKeptOnceAndGivenBackWhenItsBufferGoes() {
        try (HostMemory memory = new HostMemory(8 * MIB)) {
            NativeBuffer b = memory.allocate(DType.FLOAT32, 1024);
            java.util.concurrent.atomic.AtomicInteger released = new java.util.concurrent.atomic.AtomicInteger();
            Object first = new Object();
            assertThat(b.keepDerived(first, released::incrementAndGet)).isSameAs(first);
            assertThat(b.keepDerived(new Object(), () -> released.addAndGet(100)))
                    .as("a second form (another stream packing at once) is not kept")
                    .isSameAs(first);
            assertThat(b.derived()).isSameAs(first);
            assertThat(b.use()).isTrue(); // an op still reads it: nothing goes yet
            b.close();
            assertThat(released).hasValue(0);
            b.done();
            assertThat(released).as("given back once, with the buffer").hasValue(1);
            assertThat(b.derived()).isNull();
        }
    }

    @Test
    void aFreedBlockIsReusedForTheNextArrayOfItsSize() {
        try (HostMemory memory = new HostMemory(64 * MIB)) {
            NativeBuffer a = memory.allocate(DType.FLOAT32, 1024);
            long address = a.segment().address();
            a.close();
            memory.drain();
            assertThat(memory.pooled()).isEqualTo(4096);
            NativeBuffer b = memory.allocate(DType.INT32, 1024);
            assertThat(b.segment().address()).isEqualTo(address);
            assertThat(memory.pooled()).isZero();
        }
    }

    @Test
    void pooledBlocksGoBackToTheSystemWhenANewBlockWouldNotFitBesideThem() {
        try (HostMemory memory = new HostMemory(8 * MIB)) {
            NativeBuffer small = memory.allocate(DType.FLOAT32, 256 * 1024); // 1 MiB
            small.close();
            memory.drain();
            assertThat(memory.pooled()).isEqualTo(MIB);
            NativeBuffer big = memory.allocate(DType.FLOAT32, 15 * MIB / 8); // 7.5 MiB: only without the pooled MiB
            assertThat(memory.pooled()).isZero();
            assertThat(memory.inUse()).isEqualTo(15 * MIB / 2);
            big.close();
        }
    }

    @Test
    void aClosedBufferStaysWhileAnOpOrACopyStillUsesIt() {
        try (HostMemory memory = new HostMemory(64 * MIB)) {
            NativeBuffer a = memory.allocate(DType.FLOAT32, 1024);
            assertThat(a.use()).isTrue();
            a.close();
            memory.drain();
            assertThat(memory.inUse()).as("still used by a queued op").isEqualTo(4096);
            assertThat(a.use()).as("no new use after the close").isFalse();
            a.done();
            memory.drain();
            assertThat(memory.inUse()).isZero();
            assertThat(memory.pooled()).isEqualTo(4096);
        }
    }

    @Test
    void scratchComesFromThePoolAndGoesBackToIt() {
        try (HostMemory memory = new HostMemory(64 * MIB)) {
            NativeBuffer a = memory.allocate(DType.FLOAT32, 1024);
            a.close();
            memory.drain();
            try (Scratch s = memory.scratch(4090)) { // the same class as the freed array's block
                assertThat(s.segment().byteSize()).isEqualTo(4090);
                assertThat(memory.pooled()).isZero();
            }
            assertThat(memory.pooled()).isEqualTo(4096);
        }
    }

    @Test
    void anEmptyArrayTakesNoBlock() {
        try (HostMemory memory = new HostMemory(MIB)) {
            NativeBuffer empty = memory.allocate(DType.INT64, 0);
            assertThat(empty.byteSize()).isZero();
            assertThat(memory.inUse()).isZero();
            empty.close();
        }
    }
}
