package org.backplane.embeddings.internal;

import java.util.List;

/**
 * The {@code BertPreTokenizer} of Hugging Face's tokenizers: words end at whitespace, which is dropped, and every
 * punctuation character is a word of its own.
 */
final class BertPreTokenizer {
    private BertPreTokenizer() {}

    /** Adds the words of {@code text} to {@code words}, in order; never an empty one. */
    static void split(String text, List<String> words) {
        int start = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int next = i + Character.charCount(cp);
            boolean space = BertCharacters.isWhitespace(cp);
            if (space || BertCharacters.isPunctuation(cp)) {
                if (start < i) {
                    words.add(text.substring(start, i));
                }
                if (!space) {
                    words.add(text.substring(i, next));
                }
                start = next;
            }
            i = next;
        }
        if (start < text.length()) {
            words.add(text.substring(start));
        }
    }
}
