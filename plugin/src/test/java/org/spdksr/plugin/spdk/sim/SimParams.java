package org.spdksr.plugin.spdk.sim;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Set;

/**
 * Reads one request's params the way SPDK's spdk_json_decode_object does: an unknown key or a
 * missing required one fails the whole decode with -32603 (spdk-rpc.md §2).
 */
final class SimParams {
    private final JsonNode params;

    private SimParams(JsonNode params) {
        this.params = params;
    }

    static SimParams of(JsonNode params, String... allowed) {
        if (params == null || params.isNull() || !params.isObject()) {
            throw SimError.decode();
        }
        Set<String> keys = Set.of(allowed);
        for (Iterator<String> names = params.fieldNames(); names.hasNext();) {
            if (!keys.contains(names.next())) {
                throw SimError.decode();
            }
        }
        return new SimParams(params);
    }

    boolean has(String key) {
        return params.has(key) && !params.get(key).isNull();
    }

    String string(String key) {
        JsonNode value = params.get(key);
        if (value == null || !value.isTextual()) {
            throw SimError.decode();
        }
        return value.asText();
    }

    String string(String key, String otherwise) {
        return has(key) ? string(key) : otherwise;
    }

    long number(String key) {
        JsonNode value = params.get(key);
        if (value == null || !value.isIntegralNumber()) {
            throw SimError.decode();
        }
        return value.asLong();
    }

    long number(String key, long otherwise) {
        return has(key) ? number(key) : otherwise;
    }

    boolean bool(String key, boolean otherwise) {
        if (!has(key)) {
            return otherwise;
        }
        JsonNode value = params.get(key);
        if (!value.isBoolean()) {
            throw SimError.decode();
        }
        return value.asBoolean();
    }
}
