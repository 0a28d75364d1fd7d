package org.backplane.embeddings.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Reads a {@code tokenizer.json} into plain maps, lists, strings, longs, doubles and booleans with jackson-core's
 * streaming parser (the bundle depends on jackson-core only), and gives typed access with errors that name the field.
 */
final class TokenizerJson {
    /** The caller owns the stream, so the parser must not close it. */
    private static final JsonFactory FACTORY =
            JsonFactory.builder().disable(StreamReadFeature.AUTO_CLOSE_SOURCE).build();

    private TokenizerJson() {}

    static Map<String, Object> read(InputStream in) throws IOException {
        try (JsonParser parser = FACTORY.createParser(in)) {
            JsonToken first = parser.nextToken();
            if (first != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("tokenizer.json: expected a JSON object, found " + first);
            }
            return object(value(parser, first), "tokenizer.json");
        }
    }

    private static Object value(JsonParser parser, JsonToken token) throws IOException {
        return switch (token) {
            case START_OBJECT -> {
                Map<String, Object> map = new LinkedHashMap<>();
                for (String name = parser.nextFieldName(); name != null; name = parser.nextFieldName()) {
                    map.put(name, value(parser, parser.nextToken()));
                }
                yield map;
            }
            case START_ARRAY -> {
                List<Object> list = new ArrayList<>();
                for (JsonToken t = parser.nextToken(); t != JsonToken.END_ARRAY; t = parser.nextToken()) {
                    list.add(value(parser, t));
                }
                yield list;
            }
            case VALUE_STRING -> parser.getText();
            case VALUE_NUMBER_INT -> parser.getLongValue();
            case VALUE_NUMBER_FLOAT -> parser.getDoubleValue();
            case VALUE_TRUE -> true;
            case VALUE_FALSE -> false;
            case VALUE_NULL -> null;
            default -> throw new IOException("tokenizer.json: unexpected " + token + " at " + parser.currentLocation());
        };
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> object(Object value, String what) {
        if (value instanceof Map<?, ?> map) {
            return (Map<String, Object>) map;
        }
        throw new IllegalArgumentException(what + " must be a JSON object, found " + describe(value));
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object value, String what) {
        if (value instanceof List<?> list) {
            return (List<Object>) list;
        }
        throw new IllegalArgumentException(what + " must be a JSON array, found " + describe(value));
    }

    static String string(Object value, String what) {
        if (value instanceof String s) {
            return s;
        }
        throw new IllegalArgumentException(what + " must be a string, found " + describe(value));
    }

    static int integer(Object value, String what) {
        if (value instanceof Long n && n >= Integer.MIN_VALUE && n <= Integer.MAX_VALUE) {
            return n.intValue();
        }
        throw new IllegalArgumentException(what + " must be an int, found " + describe(value));
    }

    static boolean bool(Object value, String what) {
        if (value instanceof Boolean b) {
            return b;
        }
        throw new IllegalArgumentException(what + " must be true or false, found " + describe(value));
    }

    /** A value short enough for an error message. */
    static String describe(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof String s) {
            return "'" + s + "'";
        }
        if (value instanceof Map<?, ?> map) {
            return "an object with fields "
                    + map.keySet().stream().limit(5).map(String::valueOf).collect(Collectors.joining(", ", "[", "]"))
                    + (map.size() > 5 ? " and " + (map.size() - 5) + " more" : "");
        }
        if (value instanceof List<?> list) {
            return "an array of " + list.size();
        }
        return value.toString();
    }
}
