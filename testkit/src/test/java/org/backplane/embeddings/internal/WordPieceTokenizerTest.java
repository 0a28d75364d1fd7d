package org.backplane.embeddings.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * all-MiniLM-L6-v2's tokenizer against the ids of Hugging Face's Rust tokenizers library (see corpus/README.md), and
 * the behaviours that matter one by one.
 */
class WordPieceTokenizerTest {
    private static final int CLS = 101;
    private static final int SEP = 102;
    private static final int UNK = 100;

    private static WordPieceTokenizer tokenizer;

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = resource("all-minilm-l6-v2-tokenizer.json")) {
            tokenizer = WordPieceTokenizer.load(in);
        }
    }

    @Test
    void everyCorpusSentenceGivesTheReferenceIds() throws IOException {
        List<String> sentences = lines("corpus/sentences.txt");
        List<String> expected = lines("corpus/expected-ids.txt");
        assertThat(sentences).hasSizeGreaterThanOrEqualTo(1200);
        assertThat(expected).hasSameSizeAs(sentences);
        for (int i = 0; i < sentences.size(); i++) {
            String actual = Arrays.stream(tokenizer.encode(sentences.get(i)))
                    .mapToObj(Integer::toString)
                    .collect(Collectors.joining(" "));
            // Fails at the first mismatch, showing the sentence and both id lists.
            assertThat(actual)
                    .as("ids of sentence %d: %s", i + 1, sentences.get(i))
                    .isEqualTo(expected.get(i));
        }
    }

    @Test
    void accentsAreStrippedAndTextLowercased() {
        assertThat(tokenizer.encode("Crème Brûlée at the ÉCOLE"))
                .containsExactly(CLS, 13675, 21382, 7987, 9307, 2063, 2012, 1996, 12431, SEP)
                .isEqualTo(tokenizer.encode("creme brulee at the ecole"));
        // Combining marks go too; letters without a decomposition stay: æ ##r ##ø.
        assertThat(tokenizer.encode("Cafe\u0301 naïve Ærø")).containsExactly(CLS, 7668, 15743, 1097, 2099, 16415, SEP);
        // Lowercasing is per character, as in Rust: a final capital sigma becomes σ, not ς.
        assertThat(tokenizer.encode("ΟΔΟΣ")).containsExactly(CLS, 1169, 29722, 29730, 29733, SEP);
    }

    @Test
    void ideographsAreWordsOfTheirOwnAndKanaIsNot() {
        assertThat(tokenizer.encode("日本語のテキスト"))
                .containsExactly(CLS, 1864, 1876, 1950, 1671, 30239, 30227, 30233, 30240, SEP);
        assertThat(tokenizer.encode("x日y")).containsExactly(CLS, 1060, 1864, 1061, SEP);
    }

    @Test
    void aWordOfMoreThan100CharactersIsUnknown() {
        assertThat(tokenizer.encode("a".repeat(101))).containsExactly(CLS, UNK, SEP);
        assertThat(tokenizer.encode("a".repeat(100))).hasSize(52).doesNotContain(UNK); // aaa, 48 ##aa, ##a
        // The limit applies to the normalized word: 100 accented e's of two code points each still fit.
        assertThat(tokenizer.encode("e\u0301".repeat(100))).hasSize(52).doesNotContain(UNK);
        assertThat(tokenizer.encode("e\u0301".repeat(101))).containsExactly(CLS, UNK, SEP);
    }

    @Test
    void aWordWithAPieceOutsideTheVocabularyIsUnknownAsAWhole() {
        assertThat(tokenizer.encode("unbelievableness")).containsExactly(CLS, 23653, 2791, SEP);
        assertThat(tokenizer.encode("unbelievable☃ness")).containsExactly(CLS, UNK, SEP);
    }

    @Test
    void whitespaceControlAndZeroWidthCharacters() {
        assertThat(tokenizer.encode("tab\there\u00a0nbsp zero\u200bwidth"))
                .containsExactly(CLS, 21628, 2182, 1050, 5910, 2361, 5717, 9148, 11927, 2232, SEP);
        assertThat(tokenizer.encode("a\u0000b\uFFFDc\u0007d")).isEqualTo(tokenizer.encode("abcd"));
        assertThat(tokenizer.encode(" \t\n ")).containsExactly(CLS, SEP);
        assertThat(tokenizer.encode("")).containsExactly(CLS, SEP);
    }

    @Test
    void addedTokensAreMatchedInTheRawTextCaseSensitively() {
        assertThat(tokenizer.encode("Fill in the [MASK], not the [mask]."))
                .containsExactly(CLS, 6039, 1999, 1996, 103, 1010, 2025, 1996, 1031, 7308, 1033, 1012, SEP);
    }

    @Test
    void truncationKeepsTheFirstPiecesAndEndsWithSep() {
        String text = "the quick brown fox jumps over the lazy dog";
        assertThat(tokenizer.encode(text, 8)).containsExactly(CLS, 1996, 4248, 2829, 4419, 14523, 2058, SEP);

        String longText = "word ".repeat(1000);
        int[] ids = tokenizer.encode(longText);
        assertThat(tokenizer.maxLength()).isEqualTo(WordPieceTokenizer.DEFAULT_MAX_LENGTH);
        assertThat(ids).hasSize(256);
        assertThat(ids[0]).isEqualTo(CLS);
        assertThat(ids[255]).isEqualTo(SEP);
        assertThat(tokenizer.encode(longText, 2)).containsExactly(CLS, SEP);
        assertThatThrownBy(() -> tokenizer.encode(longText, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxLength 1");
    }

    @Test
    void noPaddingAndThePadIdComesFromTheFile() {
        assertThat(tokenizer.encode("hello world")).containsExactly(CLS, 7592, 2088, SEP);
        assertThat(tokenizer.padId()).isZero();
    }

    @Test
    void aTokenizerThisClassDoesNotImplementIsRejectedWithWhatItFound() {
        assertThat(rejection(minimal("BPE", "BertNormalizer", "BertPreTokenizer")))
                .contains("model type 'BPE'")
                .contains("WordPiece");
        assertThat(rejection(minimal("WordPiece", "NFKC", "BertPreTokenizer")))
                .contains("normalizer 'NFKC'")
                .contains("BertNormalizer");
        assertThat(rejection(minimal("WordPiece", "BertNormalizer", "Metaspace")))
                .contains("pre_tokenizer 'Metaspace'")
                .contains("BertPreTokenizer");
        String lstripMask = "[{\"id\": 3, \"content\": \"<mask>\", \"lstrip\": true}]";
        assertThat(rejection(minimal("WordPiece", "BertNormalizer", "BertPreTokenizer", lstripMask)))
                .contains("added token '<mask>' with lstrip=true");
    }

    @Test
    void aMinimalSupportedTokenizerWorks() throws IOException {
        WordPieceTokenizer small =
                WordPieceTokenizer.load(stream(minimal("WordPiece", "BertNormalizer", "BertPreTokenizer")), 16);
        assertThat(small.encode("Hello, hello!")).containsExactly(0, 3, 5, 3, 6, 1);
        assertThat(small.encode("HELLOx")).containsExactly(0, 3, 4, 1);
        assertThat(small.encode("Hellx")).containsExactly(0, 2, 1);
        assertThat(small.padId()).isEqualTo(7);
    }

    private static String minimal(String model, String normalizer, String preTokenizer) {
        return minimal(model, normalizer, preTokenizer, "[]");
    }

    /** A tokenizer.json of the given types, with a tiny vocabulary and BERT's post-processor. */
    private static String minimal(String model, String normalizer, String preTokenizer, String addedTokens) {
        return """
            {
              "added_tokens": %s,
              "normalizer": {"type": "%s", "lowercase": true, "strip_accents": null},
              "pre_tokenizer": {"type": "%s"},
              "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 1], "cls": ["[CLS]", 0]},
              "padding": {"pad_id": 7},
              "model": {
                "type": "%s",
                "unk_token": "[UNK]",
                "vocab": {"[CLS]": 0, "[SEP]": 1, "[UNK]": 2, "hello": 3, "##x": 4, ",": 5, "!": 6, "[PAD]": 7}
              }
            }
            """.formatted(addedTokens, normalizer, preTokenizer, model);
    }

    private static String rejection(String json) {
        try {
            WordPieceTokenizer.load(stream(json));
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("accepted: " + json);
    }

    private static InputStream stream(String json) {
        return new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8));
    }

    private static InputStream resource(String name) {
        InputStream in = WordPieceTokenizerTest.class.getClassLoader().getResourceAsStream(name);
        assertThat(in).as("resource %s on the test class path", name).isNotNull();
        return in;
    }

    /** Lines split at \n only, since some sentences hold characters that other line breakers split at. */
    private static List<String> lines(String name) throws IOException {
        try (InputStream in = resource(name)) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            String withoutLastNewline = text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
            return List.of(withoutLastNewline.split("\n", -1));
        }
    }
}
