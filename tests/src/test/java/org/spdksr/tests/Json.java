package org.spdksr.tests;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/** Small JSON helpers shared by the emulation and the tests. */
public final class Json {
    /**
     * Trailing tokens are an error: XSS parses the whole of stdout as one value (smapiv3.md §3.2),
     * so "null\nnull" or a log line after the result must not pass.
     */
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Json() {
    }

    /** Builds an object from alternating names and values (String, Boolean, Number, Map, JsonNode). */
    public static ObjectNode obj(Object... namesAndValues) {
        if (namesAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("names and values must alternate");
        }
        ObjectNode node = MAPPER.createObjectNode();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            node.set((String) namesAndValues[i], MAPPER.valueToTree(namesAndValues[i + 1]));
        }
        return node;
    }

    /** Compact encoding without a trailing newline, as XSS writes it to stdin (§3.1). */
    public static String compact(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static JsonNode parse(String text) throws JsonProcessingException {
        return MAPPER.readTree(text);
    }

    /**
     * Field lookup ignoring case: rpclib matches record field names case-insensitively when it
     * unmarshals a plugin's output (§3.5), so the emulation does the same.
     */
    public static JsonNode field(JsonNode record, String name) {
        JsonNode exact = record.get(name);
        if (exact != null) {
            return exact;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = record.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equalsIgnoreCase(name)) {
                return e.getValue();
            }
        }
        return null;
    }

    /** Reads a JSON object of strings (the wire form of an IDL map, §3.5). */
    public static Map<String, String> stringMap(JsonNode node, String what) {
        if (node == null || !node.isObject()) {
            throw new ProtocolViolation(what + " is not a JSON object: " + node);
        }
        Map<String, String> map = new LinkedHashMap<>();
        node.fields().forEachRemaining(e -> {
            if (!e.getValue().isTextual()) {
                throw new ProtocolViolation(what + "[" + e.getKey() + "] is not a string: " + e.getValue());
            }
            map.put(e.getKey(), e.getValue().asText());
        });
        return map;
    }
}
