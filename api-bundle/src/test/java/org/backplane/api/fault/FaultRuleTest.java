package org.backplane.api.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.backplane.api.ErrorKind;
import org.backplane.api.StreamId;
import org.junit.jupiter.api.Test;

class FaultRuleTest {
    @Test
    void parsesAndPrintsBothForms() {
        FaultRule op = FaultRule.parse("stream=worker-*, op=5, kind=page_fault, code=3");
        assertThat(op)
                .isEqualTo(FaultRule.atOp("worker-*", 5, ErrorKind.PAGE_FAULT).withNativeCode(3));
        assertThat(FaultRule.parse(op.toString())).isEqualTo(op);
        FaultRule fraction = FaultRule.parse("fraction=0.25, seed=7, kind=TIMEOUT, message=slow");
        assertThat(fraction.stream()).isEqualTo("*");
        assertThat(FaultRule.parse(fraction.toString())).isEqualTo(fraction);
    }

    @Test
    void parsesConfiguredRulesSkippingBlankEntries() {
        assertThat(FaultRule.parseAll("op=1, kind=TIMEOUT", " ", "", "stream=a, op=2, kind=PAGE_FAULT"))
                .containsExactly(
                        FaultRule.atOp("*", 1, ErrorKind.TIMEOUT), FaultRule.atOp("a", 2, ErrorKind.PAGE_FAULT));
        assertThat(FaultRule.parseAll()).isEmpty();
        assertThatThrownBy(() -> FaultRule.parseAll("op=1, kind=TIMEOUT", "op=1"))
                .hasMessageContaining("needs kind");
    }

    @Test
    void rejectsMalformedRulesWithTheReason() {
        assertThatThrownBy(() -> FaultRule.parse("op=1")).hasMessageContaining("needs kind");
        assertThatThrownBy(() -> FaultRule.parse("op=1, kind=NOPE")).hasMessageContaining("unknown kind 'NOPE'");
        assertThatThrownBy(() -> FaultRule.parse("kind=TIMEOUT")).hasMessageContaining("neither");
        assertThatThrownBy(() -> FaultRule.parse("op=1, fraction=0.5, kind=TIMEOUT"))
                .hasMessageContaining("both");
        assertThatThrownBy(() -> FaultRule.parse("op=x, kind=TIMEOUT")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> FaultRule.parse("op=1, kind=TIMEOUT, colour=red"))
                .hasMessageContaining("unknown key 'colour'");
        assertThatThrownBy(() -> FaultRule.parse("op=1, op=2, kind=TIMEOUT")).hasMessageContaining("twice");
        assertThatThrownBy(() -> FaultRule.parse("fraction=2, kind=TIMEOUT")).hasMessageContaining("between 0 and 1");
    }

    @Test
    void streamIdsRoundTrip() {
        StreamId id = StreamId.parse("cuda:12");
        assertThat(id).isEqualTo(new StreamId("cuda", 12));
        assertThat(id).hasToString("cuda:12");
        assertThatThrownBy(() -> StreamId.parse("cuda")).hasMessageContaining("backend:number");
        assertThatThrownBy(() -> StreamId.parse("cuda:x")).hasMessageContaining("backend:number");
        assertThatThrownBy(() -> new StreamId("cpu", 0)).hasMessageContaining("positive");
    }
}
