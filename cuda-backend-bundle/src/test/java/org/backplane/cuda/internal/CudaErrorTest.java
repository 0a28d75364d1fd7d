package org.backplane.cuda.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.backplane.api.ErrorKind;
import org.junit.jupiter.api.Test;

class CudaErrorTest {
    @Test
    void stickyErrorsAreTheOnesThatCorruptTheContext() {
        assertThat(CudaError.isSticky(700)).isTrue();
        assertThat(CudaError.isSticky(716)).isTrue();
        assertThat(CudaError.isSticky(719)).isTrue();
        assertThat(CudaError.isSticky(CudaError.OUT_OF_MEMORY))
                .as("out of memory is recoverable")
                .isFalse();
        assertThat(CudaError.isSticky(1)).isFalse();
    }

    @Test
    void kindsFollowTheContract() {
        assertThat(CudaError.kind(2)).isEqualTo(ErrorKind.OUT_OF_MEMORY);
        assertThat(CudaError.kind(700)).isEqualTo(ErrorKind.PAGE_FAULT);
        assertThat(CudaError.kind(716)).isEqualTo(ErrorKind.PAGE_FAULT);
        assertThat(CudaError.kind(719)).isEqualTo(ErrorKind.DEVICE_LOST);
        assertThat(CudaError.kind(702)).isEqualTo(ErrorKind.TIMEOUT);
        assertThat(CudaError.kind(218)).isEqualTo(ErrorKind.KERNEL_COMPILE);
        assertThat(CudaError.isBadInput(1)).isTrue();
        assertThat(CudaError.isBadInput(701)).isTrue();
        assertThat(CudaError.isBadInput(700)).isFalse();
    }
}
