package org.backplane.embeddings.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiFunction;
import java.util.stream.Collectors;

/**
 * The WordPiece tokenizer of a BERT-style model (all-MiniLM-L6-v2 and its kin), read from its Hugging Face
 * {@code tokenizer.json}, giving the ids that Hugging Face's Rust tokenizers library gives.
 *
 * <p>As there: the added tokens ({@code [CLS]}, {@code [MASK]}...) are found in the raw text first, the text between
 * them is normalized ({@link BertNormalizer}) and split into words ({@link BertPreTokenizer}), each word becomes its
 * greedy longest-match word pieces (the whole word becomes the unknown token when a part has no match or the word is
 * too long), the pieces are truncated to the right and the post-processor's special tokens go around them. The file's
 * own truncation and padding are ignored: {@link #encode(String, int)} truncates to the length it is given and never
 * pads. Instances are immutable and safe to share between threads.
 */
public final class WordPieceTokenizer {
    /** The default maximum number of ids {@link #encode(String)} returns, special tokens included. */
    public static final int DEFAULT_MAX_LENGTH = 256;

    private final BertNormalizer normalizer;
    private final Map<String, Integer> vocab;
    /** The longest vocabulary entry, in chars: no longer piece can match, so the search starts there. */
    private final int longestEntry;

    private final String continuingPrefix;
    private final int unkId;
    private final int maxInputCharsPerWord;
    /** Longest first, so the first match at a position is the longest, as in the Rust library. */
    private final List<AddedToken> addedTokens;
    /** The first chars of the added tokens: most positions of a text start none. */
    private final String addedTokenStarts;

    private final int[] idsBefore;
    private final int[] idsAfter;
    private final int padId;
    private final int maxLength;

    private record AddedToken(String content, int id) {}

    private WordPieceTokenizer(Map<String, Object> json, int maxLength) {
        Map<String, Object> model = TokenizerJson.object(json.get("model"), "model");
        String modelType = String.valueOf(model.get("type"));
        if (!modelType.equals("WordPiece")) {
            throw unsupported("model type '" + modelType + "'", "WordPiece");
        }
        vocab = readVocab(TokenizerJson.object(model.get("vocab"), "model.vocab"));
        longestEntry = vocab.keySet().stream().mapToInt(String::length).max().orElse(0);
        continuingPrefix = optional(model, "continuing_subword_prefix", "##", TokenizerJson::string);
        maxInputCharsPerWord = optional(model, "max_input_chars_per_word", 100, TokenizerJson::integer);
        String unkToken = TokenizerJson.string(model.get("unk_token"), "model.unk_token");
        unkId = id(unkToken, "model.unk_token");

        normalizer = readNormalizer(json.get("normalizer"));
        Object preTokenizer = json.get("pre_tokenizer");
        String preTokenizerType = preTokenizer == null ? "null" : typeOf(preTokenizer, "pre_tokenizer");
        if (!preTokenizerType.equals("BertPreTokenizer")) {
            throw unsupported("pre_tokenizer '" + preTokenizerType + "'", "BertPreTokenizer");
        }
        addedTokens = readAddedTokens(json.get("added_tokens"));
        addedTokenStarts = addedTokens.stream()
                .map(t -> String.valueOf(t.content().charAt(0)))
                .distinct()
                .collect(Collectors.joining());

        List<int[]> around = readPostProcessor(json.get("post_processor"));
        idsBefore = around.get(0);
        idsAfter = around.get(1);

        Object padding = json.get("padding");
        padId = padding != null
                ? TokenizerJson.integer(TokenizerJson.object(padding, "padding").get("pad_id"), "padding.pad_id")
                : id("[PAD]", "the pad token (no padding section)");
        this.maxLength = checkMaxLength(maxLength);
    }

    /** Reads a tokenizer.json; {@link #encode(String)} then keeps at most {@link #DEFAULT_MAX_LENGTH} ids. */
    public static WordPieceTokenizer load(InputStream tokenizerJson) throws IOException {
        return load(tokenizerJson, DEFAULT_MAX_LENGTH);
    }

    /**
     * Reads a tokenizer.json (the stream is left open); {@link #encode(String)} then keeps at most {@code maxLength}
     * ids.
     *
     * @throws IllegalArgumentException if the file is not a WordPiece tokenizer with the BERT normalizer and
     *     pre-tokenizer, or uses options this class does not implement; the message names what it found
     */
    public static WordPieceTokenizer load(InputStream tokenizerJson, int maxLength) throws IOException {
        return new WordPieceTokenizer(TokenizerJson.read(tokenizerJson), maxLength);
    }

    public static WordPieceTokenizer load(Path tokenizerJson) throws IOException {
        return load(tokenizerJson, DEFAULT_MAX_LENGTH);
    }

    public static WordPieceTokenizer load(Path tokenizerJson, int maxLength) throws IOException {
        try (InputStream in = Files.newInputStream(tokenizerJson)) {
            return load(in, maxLength);
        }
    }

    /** The ids of {@code text}, special tokens included, at most {@link #maxLength()} of them. */
    public int[] encode(String text) {
        return encode(text, maxLength);
    }

    /**
     * The ids of {@code text}, special tokens included, at most {@code maxLength} of them: the word pieces past
     * {@code maxLength} less the special tokens are dropped, so the closing special token always comes last.
     */
    public int[] encode(String text, int maxLength) {
        Objects.requireNonNull(text, "text");
        int budget = checkMaxLength(maxLength) - idsBefore.length - idsAfter.length;
        Pieces pieces = new Pieces(budget);
        int start = 0;
        for (int i = 0; i < text.length() && !pieces.full(); ) {
            AddedToken token = addedTokenAt(text, i);
            if (token == null) {
                i++;
                continue;
            }
            if (start < i) {
                addWords(text.substring(start, i), pieces);
            }
            pieces.add(token.id());
            i += token.content().length();
            start = i;
        }
        if (start < text.length()) {
            addWords(text.substring(start), pieces);
        }
        int n = Math.min(pieces.size, budget);
        int[] ids = new int[idsBefore.length + n + idsAfter.length];
        System.arraycopy(idsBefore, 0, ids, 0, idsBefore.length);
        System.arraycopy(pieces.ids, 0, ids, idsBefore.length, n);
        System.arraycopy(idsAfter, 0, ids, idsBefore.length + n, idsAfter.length);
        return ids;
    }

    /** The id that pads a batch of encodings to one length. */
    public int padId() {
        return padId;
    }

    /** The maximum number of ids {@link #encode(String)} returns, special tokens included. */
    public int maxLength() {
        return maxLength;
    }

    /**
     * The Rust library, given a maximum below the number of special tokens, returns more ids than the maximum; here
     * that is an error.
     */
    private int checkMaxLength(int maxLength) {
        int special = idsBefore.length + idsAfter.length;
        if (maxLength < special) {
            throw new IllegalArgumentException(
                    "maxLength " + maxLength + " leaves no room for the " + special + " special tokens");
        }
        return maxLength;
    }

    private AddedToken addedTokenAt(String text, int i) {
        if (addedTokenStarts.indexOf(text.charAt(i)) < 0) {
            return null;
        }
        for (AddedToken token : addedTokens) {
            if (text.startsWith(token.content(), i)) {
                return token;
            }
        }
        return null;
    }

    /** Normalizes a stretch of text between added tokens and adds the word pieces of its words. */
    private void addWords(String segment, Pieces pieces) {
        if (pieces.full()) {
            return;
        }
        List<String> words = new ArrayList<>();
        BertPreTokenizer.split(normalizer.normalize(segment), words);
        for (String word : words) {
            addWordPieces(word, pieces);
            // The pieces past the budget would be truncated anyway: stop early on long texts.
            if (pieces.full()) {
                return;
            }
        }
    }

    /**
     * Greedy longest match from the left, continuations spelled with the prefix; if any part of the word has no match,
     * the whole word is the unknown token. Lengths count code points, as Rust counts chars.
     */
    private void addWordPieces(String word, Pieces pieces) {
        if (word.codePointCount(0, word.length()) > maxInputCharsPerWord) {
            pieces.add(unkId);
            return;
        }
        int first = pieces.size;
        for (int start = 0; start < word.length(); ) {
            int end = Math.min(word.length(), start + longestEntry);
            if (end < word.length() && Character.isLowSurrogate(word.charAt(end))) {
                end--; // never split a surrogate pair; the longer piece could not match anyway
            }
            Integer id = null;
            while (end > start) {
                String piece = word.substring(start, end);
                id = vocab.get(start == 0 ? piece : continuingPrefix + piece);
                if (id != null) {
                    break;
                }
                end = word.offsetByCodePoints(end, -1);
            }
            if (id == null) {
                pieces.size = first;
                pieces.add(unkId);
                return;
            }
            pieces.add(id);
            start = end;
        }
    }

    /** Word-piece ids, growing past the budget while a word is finished, since the word may still become unknown. */
    private static final class Pieces {
        private final int budget;
        int[] ids = new int[64];
        int size;

        Pieces(int budget) {
            this.budget = budget;
        }

        void add(int id) {
            if (size == ids.length) {
                ids = Arrays.copyOf(ids, 2 * size);
            }
            ids[size++] = id;
        }

        boolean full() {
            return size >= budget;
        }
    }

    private int id(String token, String what) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new IllegalArgumentException(what + ": '" + token + "' is not in the vocabulary");
        }
        return id;
    }

    private static Map<String, Integer> readVocab(Map<String, Object> json) {
        Map<String, Integer> vocab = new HashMap<>(2 * json.size());
        json.forEach((token, id) -> vocab.put(token, TokenizerJson.integer(id, "model.vocab['" + token + "']")));
        return Map.copyOf(vocab);
    }

    private static BertNormalizer readNormalizer(Object json) {
        String type = json == null ? "null" : typeOf(json, "normalizer");
        if (!type.equals("BertNormalizer")) {
            throw unsupported("normalizer '" + type + "'", "BertNormalizer");
        }
        Map<String, Object> n = TokenizerJson.object(json, "normalizer");
        boolean lowercase = optional(n, "lowercase", true, TokenizerJson::bool);
        // A null strip_accents means: strip them when lowercasing.
        boolean stripAccents = optional(n, "strip_accents", lowercase, TokenizerJson::bool);
        return new BertNormalizer(
                optional(n, "clean_text", true, TokenizerJson::bool),
                optional(n, "handle_chinese_chars", true, TokenizerJson::bool),
                stripAccents,
                lowercase);
    }

    /** Only tokens matched as they are: what the BERT models' [CLS], [SEP], [PAD], [MASK] and [UNK] use. */
    private static List<AddedToken> readAddedTokens(Object json) {
        if (json == null) {
            return List.of();
        }
        List<AddedToken> tokens = new ArrayList<>();
        for (Object item : TokenizerJson.list(json, "added_tokens")) {
            Map<String, Object> t = TokenizerJson.object(item, "added_tokens[]");
            String content = TokenizerJson.string(t.get("content"), "added_tokens[].content");
            for (String option : List.of("single_word", "lstrip", "rstrip", "normalized")) {
                if (optional(t, option, false, TokenizerJson::bool)) {
                    throw unsupported(
                            "added token '" + content + "' with " + option + "=true",
                            "added tokens with single_word, lstrip, rstrip and normalized false");
                }
            }
            if (!content.isEmpty()) {
                tokens.add(new AddedToken(content, TokenizerJson.integer(t.get("id"), "added_tokens[].id")));
            }
        }
        tokens.sort((a, b) -> Integer.compare(b.content().length(), a.content().length()));
        return List.copyOf(tokens);
    }

    /** The ids before and after the sequence, from a TemplateProcessing or BertProcessing post-processor. */
    private static List<int[]> readPostProcessor(Object json) {
        if (json == null) {
            return List.of(new int[0], new int[0]);
        }
        Map<String, Object> p = TokenizerJson.object(json, "post_processor");
        String type = typeOf(p, "post_processor");
        if (type.equals("BertProcessing")) {
            return List.of(
                    new int[] {pairId(p.get("cls"), "post_processor.cls")},
                    new int[] {pairId(p.get("sep"), "post_processor.sep")});
        }
        if (!type.equals("TemplateProcessing")) {
            throw unsupported("post_processor '" + type + "'", "TemplateProcessing and BertProcessing");
        }
        Map<String, Object> specials = TokenizerJson.object(p.get("special_tokens"), "post_processor.special_tokens");
        List<Integer> before = new ArrayList<>();
        List<Integer> after = new ArrayList<>();
        boolean sequenceSeen = false;
        for (Object item : TokenizerJson.list(p.get("single"), "post_processor.single")) {
            Map<String, Object> piece = TokenizerJson.object(item, "post_processor.single[]");
            if (piece.containsKey("Sequence")) {
                if (sequenceSeen) {
                    throw unsupported("a single-sequence template with two sequences", "one sequence");
                }
                sequenceSeen = true;
                continue;
            }
            Map<String, Object> special =
                    TokenizerJson.object(piece.get("SpecialToken"), "post_processor.single[].SpecialToken");
            String name = TokenizerJson.string(special.get("id"), "post_processor.single[].SpecialToken.id");
            Map<String, Object> definition =
                    TokenizerJson.object(specials.get(name), "post_processor.special_tokens['" + name + "']");
            for (Object id : TokenizerJson.list(definition.get("ids"), "special_tokens['" + name + "'].ids")) {
                (sequenceSeen ? after : before).add(TokenizerJson.integer(id, "special_tokens['" + name + "'].ids[]"));
            }
        }
        if (!sequenceSeen) {
            throw unsupported("a single-sequence template without the sequence", "one sequence");
        }
        return List.of(toArray(before), toArray(after));
    }

    /** BertProcessing spells a special token as ["[CLS]", 101]. */
    private static int pairId(Object json, String what) {
        List<Object> pair = TokenizerJson.list(json, what);
        if (pair.size() != 2) {
            throw new IllegalArgumentException(what + " must be [token, id], found " + TokenizerJson.describe(json));
        }
        return TokenizerJson.integer(pair.get(1), what + "[1]");
    }

    private static int[] toArray(List<Integer> ids) {
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private static String typeOf(Object json, String what) {
        return TokenizerJson.string(TokenizerJson.object(json, what).get("type"), what + ".type");
    }

    /** A field that may be missing or null, which means its default (as serde reads these files). */
    private static <T> T optional(
            Map<String, Object> json, String field, T ifAbsent, BiFunction<Object, String, T> reader) {
        Object value = json.get(field);
        return value == null ? ifAbsent : reader.apply(value, field);
    }

    private static IllegalArgumentException unsupported(String found, String supported) {
        return new IllegalArgumentException(
                "Unsupported tokenizer.json: " + found + "; this tokenizer supports " + supported);
    }
}
