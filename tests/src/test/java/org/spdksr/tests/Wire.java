package org.spdksr.tests;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * Unmarshalling of plugin output with the strictness of rpclib (smapiv3.md §3.5): mandatory
 * fields must be present with the right JSON type; an int64 may also be a decimal string.
 */
final class Wire {
    private Wire() {
    }

    static JsonNode required(JsonNode record, String name, String what) {
        if (record == null || !record.isObject()) {
            throw new ProtocolViolation(what + " is not a JSON object: " + record);
        }
        JsonNode v = Json.field(record, name);
        if (v == null || v.isNull()) {
            throw new ProtocolViolation(what + " lacks mandatory field '" + name + "': " + record);
        }
        return v;
    }

    static String string(JsonNode record, String name, String what) {
        JsonNode v = required(record, name, what);
        if (!v.isTextual()) {
            throw new ProtocolViolation(what + "." + name + " is not a string: " + v);
        }
        return v.asText();
    }

    /** An option field: omitted means None; present must be a string (null is rejected, §3.5). */
    static String optionalString(JsonNode record, String name, String what) {
        JsonNode v = Json.field(record, name);
        if (v == null) {
            return null;
        }
        if (!v.isTextual()) {
            throw new ProtocolViolation(what + "." + name + " is present but not a string: " + v);
        }
        return v.asText();
    }

    static boolean bool(JsonNode record, String name, String what) {
        JsonNode v = required(record, name, what);
        if (!v.isBoolean()) {
            throw new ProtocolViolation(what + "." + name + " is not a bool: " + v);
        }
        return v.asBoolean();
    }

    static long int64(JsonNode record, String name, String what) {
        JsonNode v = required(record, name, what);
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            return v.asLong();
        }
        if (v.isTextual() && v.asText().matches("-?[0-9]+")) {
            BigInteger b = new BigInteger(v.asText());
            if (b.bitLength() < 64) {
                return b.longValue();
            }
        }
        throw new ProtocolViolation(what + "." + name + " is not an int64: " + v);
    }

    static List<String> stringList(JsonNode record, String name, String what) {
        JsonNode v = required(record, name, what);
        if (!v.isArray()) {
            throw new ProtocolViolation(what + "." + name + " is not a list: " + v);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual()) {
                throw new ProtocolViolation(what + "." + name + " has a non-string element: " + v);
            }
            out.add(e.asText());
        }
        return out;
    }
}
