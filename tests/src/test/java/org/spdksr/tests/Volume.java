package org.spdksr.tests;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The volume record (smapiv3.md §4.1) returned by create/snapshot/clone/stat and in SR.ls. */
public record Volume(String key, String uuid, String name, String description, boolean readWrite,
                     boolean sharable, long virtualSize, long physicalUtilisation, List<String> uri,
                     Map<String, String> keys) {
    public Volume {
        uri = List.copyOf(uri);
        keys = Map.copyOf(keys);
    }

    public static Volume from(JsonNode n) {
        String w = "volume";
        return new Volume(Wire.string(n, "key", w), Wire.optionalString(n, "uuid", w), Wire.string(n, "name", w),
                Wire.string(n, "description", w), Wire.bool(n, "read_write", w), Wire.bool(n, "sharable", w),
                Wire.int64(n, "virtual_size", w), Wire.int64(n, "physical_utilisation", w),
                Wire.stringList(n, "uri", w), Json.stringMap(Wire.required(n, "keys", w), w + ".keys"));
    }

    public static List<Volume> listFrom(JsonNode n) {
        if (n == null || !n.isArray()) {
            throw new ProtocolViolation("expected a volume list, got " + n);
        }
        List<Volume> out = new ArrayList<>();
        n.forEach(e -> out.add(from(e)));
        return out;
    }
}
