package org.backplane.embeddings.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.backplane.testkit.embeddings.TestModel;
import org.junit.jupiter.api.Test;

/**
 * The reference vectors every backend is compared with are ONNX Runtime's: a sample of the corpus
 * (every 10th sentence, the long ones included) is run through ONNX Runtime 1.20.0 again and must
 * match the committed file to float32 rounding.
 */
class OnnxRuntimeReferenceTest {
    @Test
    void theCommittedVectorsAreWhatOnnxRuntimeComputes() throws Exception {
        List<String> sentences = TestModel.sentences();
        float[][] reference = TestModel.reference();
        assertThat(reference.length).isEqualTo(sentences.size());
        try (OnnxRuntimeReference ort = new OnnxRuntimeReference()) {
            for (int i = 0; i < sentences.size(); i += 10) {
                float[] v = ort.embed(sentences.get(i));
                for (int k = 0; k < v.length; k++) {
                    assertThat((double) v[k])
                            .as("sentence %d, component %d", i, k)
                            .isCloseTo(reference[i][k], org.assertj.core.data.Offset.offset(1e-6));
                }
            }
        }
    }
}
