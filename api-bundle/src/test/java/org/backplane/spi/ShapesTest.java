package org.backplane.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.junit.jupiter.api.Test;

class ShapesTest {
    @Test
    void broadcastingFollowsNumPy() {
        assertThat(Shapes.broadcast(Shape.of(2, 3), Shape.of(3))).isEqualTo(Shape.of(2, 3));
        assertThat(Shapes.broadcast(Shape.of(4, 1, 3), Shape.of(5, 1))).isEqualTo(Shape.of(4, 5, 3));
        assertThat(Shapes.broadcast(Shape.scalar(), Shape.of(0, 2))).isEqualTo(Shape.of(0, 2));
        assertThat(Shapes.broadcast(Shape.of(1, 0), Shape.of(3, 1))).isEqualTo(Shape.of(3, 0));
        assertThatThrownBy(() -> Shapes.broadcast(Shape.of(2, 3), Shape.of(2)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[2, 3]")
                .hasMessageContaining("[2]");
        assertThatThrownBy(() -> Shapes.broadcast(Shape.of(0), Shape.of(2)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void broadcastStridesAreZeroAlongBroadcastAxes() {
        assertThat(Shapes.broadcastStrides(Shape.of(3), Shape.of(2, 3))).containsExactly(0, 1);
        assertThat(Shapes.broadcastStrides(Shape.of(2, 1), Shape.of(2, 4))).containsExactly(1, 0);
        assertThat(Shapes.strides(Shape.of(2, 3, 4))).containsExactly(12, 4, 1);
        assertThat(Shapes.dims(Shape.of(2, 3, 4))).containsExactly(2L, 3L, 4L);
        assertThat(Shapes.dims(Shape.of())).isEmpty();
    }

    @Test
    void matmulShapes() {
        assertThat(Shapes.matmul(Shape.of(2, 3), Shape.of(3, 4))).isEqualTo(Shape.of(2, 4));
        assertThat(Shapes.matmul(Shape.of(5, 2, 3), Shape.of(3, 4))).isEqualTo(Shape.of(5, 2, 4));
        assertThat(Shapes.matmul(Shape.of(2, 3), Shape.of(5, 3, 4))).isEqualTo(Shape.of(5, 2, 4));
        assertThat(Shapes.matmul(Shape.of(1, 2, 3), Shape.of(5, 3, 4))).isEqualTo(Shape.of(5, 2, 4));
        assertThat(Shapes.matmul(Shape.of(0, 3), Shape.of(3, 0))).isEqualTo(Shape.of(0, 0));
        assertThatThrownBy(() -> Shapes.matmul(Shape.of(2, 3), Shape.of(2, 3))).hasMessageContaining("3 columns");
        assertThatThrownBy(() -> Shapes.matmul(Shape.of(3), Shape.of(3, 1))).hasMessageContaining("2-D");
        assertThatThrownBy(() -> Shapes.matmul(Shape.of(2, 2, 3), Shape.of(5, 3, 4)))
                .hasMessageContaining("batch");
    }

    @Test
    void permutationsAndReductions() {
        assertThat(ViewShapes.permutation(Shape.of(2, 3, 4), new int[0])).containsExactly(2, 1, 0);
        assertThat(ViewShapes.permutation(Shape.of(2, 3, 4), new int[] {-1, 0, 1}))
                .containsExactly(2, 0, 1);
        assertThat(ViewShapes.permute(Shape.of(2, 3, 4), new int[] {2, 0, 1})).isEqualTo(Shape.of(4, 2, 3));
        assertThatThrownBy(() -> ViewShapes.permutation(Shape.of(2, 3), new int[] {0}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ViewShapes.permutation(Shape.of(2, 3), new int[] {1, 1}))
                .hasMessageContaining("twice");
        assertThat(Shapes.reduce(ReduceOp.SUM, Shape.of(2, 3, 4), -2)).isEqualTo(Shape.of(2, 4));
        assertThat(Shapes.reduce(ReduceOp.SUM, Shape.of(0, 3), 0)).isEqualTo(Shape.of(3));
        assertThatThrownBy(() -> Shapes.reduce(ReduceOp.MAX, Shape.of(0, 3), 0)).hasMessageContaining("no identity");
        assertThatThrownBy(() -> Shapes.reduce(ReduceOp.SUM, Shape.of(2), 1)).hasMessageContaining("out of range");
        assertThatThrownBy(() -> Shapes.reduceAll(ReduceOp.MAX, Shape.of(0))).hasMessageContaining("no identity");
        assertThatThrownBy(() -> Shapes.softmax(Shape.scalar())).hasMessageContaining("scalar");
    }

    @Test
    void shapesRejectBadDimensions() {
        assertThatThrownBy(() -> Shape.of(2, -1)).hasMessageContaining("negative");
        assertThatThrownBy(() -> Shape.of(1, 1, 1, 1, 1, 1, 1, 1, 1)).hasMessageContaining("rank 9");
        assertThatThrownBy(() -> Shape.of(Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE))
                .hasMessageContaining("long");
        assertThat(Shape.of().size()).isEqualTo(1);
        assertThat(Shape.of(3, 0).size()).isZero();
        assertThat(Shape.of(2, 3)).hasToString("[2, 3]");
    }

    @Test
    void aReshapeOfATransposedViewIsAViewOnlyWhereTheMergedAxesAreContiguous() {
        // [5, 6, 3, 1] transposed by [2, 3, 0, 1]: axes of 3 (stride 1) and 5 (stride 18) cannot merge,
        // even with a size-1 axis between them (its stride must not hide the gap).
        assertThat(ViewShapes.reshapeStrides(Shape.of(3, 1, 5, 6), new long[] {1, 1, 18, 3}, Shape.of(90)))
                .isNull();
        assertThat(ViewShapes.reshapeStrides(Shape.of(3, 1, 5, 6), new long[] {1, 1, 18, 3}, Shape.of(3, 30)))
                .containsExactly(1, 3);
        // A size-1 axis with any stride does not break a contiguous group.
        assertThat(ViewShapes.reshapeStrides(Shape.of(5, 1, 6), new long[] {6, 99, 1}, Shape.of(30)))
                .containsExactly(1);
        assertThat(ViewShapes.reshapeStrides(Shape.of(2, 3), new long[] {3, 1}, Shape.of(2, 1, 3)))
                .containsExactly(3, 3, 1);
    }
}
