package org.backplane.embeddings.internal;

import java.text.Normalizer;

/**
 * The {@code BertNormalizer} of Hugging Face's tokenizers: clean the text, isolate CJK ideographs, strip accents and
 * lowercase, in that order (the Rust library strips accents before it lowercases).
 */
final class BertNormalizer {
    private final boolean cleanText;
    private final boolean handleChineseChars;
    private final boolean stripAccents;
    private final boolean lowercase;

    BertNormalizer(boolean cleanText, boolean handleChineseChars, boolean stripAccents, boolean lowercase) {
        this.cleanText = cleanText;
        this.handleChineseChars = handleChineseChars;
        this.stripAccents = stripAccents;
        this.lowercase = lowercase;
    }

    String normalize(String text) {
        String s = text;
        if (cleanText || handleChineseChars) {
            s = cleanAndSpaceIdeographs(s);
        }
        if (stripAccents) {
            s = stripAccents(s);
        }
        if (lowercase) {
            s = lowercase(s);
        }
        return s;
    }

    /** Cleaning and CJK spacing in one pass: both look at one code point at a time. */
    private String cleanAndSpaceIdeographs(String s) {
        StringBuilder out = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cleanText) {
                // Controls go before the whitespace test: U+000B, U+000C and U+0085 are whitespace but also Cc,
                // so they vanish instead of becoming a space.
                if (cp == 0 || cp == 0xFFFD || BertCharacters.isControl(cp)) {
                    continue;
                }
                if (BertCharacters.isWhitespace(cp)) {
                    cp = ' ';
                }
            }
            if (handleChineseChars && BertCharacters.isChineseChar(cp)) {
                out.append(' ').appendCodePoint(cp).append(' ');
            } else {
                out.appendCodePoint(cp);
            }
        }
        return out.toString();
    }

    private static String stripAccents(String s) {
        String nfd = Normalizer.normalize(s, Normalizer.Form.NFD);
        StringBuilder out = new StringBuilder(nfd.length());
        nfd.codePoints().filter(cp -> !BertCharacters.isNonSpacingMark(cp)).forEach(out::appendCodePoint);
        return out.toString();
    }

    /**
     * Lowercases code point by code point, as Rust's {@code char::to_lowercase} does: without context, so a final
     * capital sigma becomes σ, not the ς of {@link String#toLowerCase}.
     */
    private static String lowercase(String s) {
        StringBuilder out = new StringBuilder(s.length());
        s.codePoints().forEach(cp -> {
            if (cp == 0x130) {
                // The one unconditional lowercase mapping to two code points: İ -> i + combining dot above.
                out.append("i\u0307");
            } else {
                out.appendCodePoint(Character.toLowerCase(cp));
            }
        });
        return out.toString();
    }
}
