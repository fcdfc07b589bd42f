package org.spdksr.tests;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/** sr_stat (smapiv3.md §4.1): all mandatory except uuid; health is a variant with an argument. */
public record SrStat(String sr, String name, String uuid, String description, long freeSpace, long totalSpace,
                     List<String> datasources, boolean clustered, String health, String healthMessage) {
    public static SrStat from(JsonNode n) {
        String w = "sr_stat";
        JsonNode h = Wire.required(n, "health", w);
        // A variant with an argument travels as ["Name", arg] (§3.5); the argument is required (§4.1).
        if (!h.isArray() || h.size() != 2 || !h.get(0).isTextual() || !h.get(1).isTextual()) {
            throw new ProtocolViolation("sr_stat.health is not [\"Name\", \"msg\"]: " + h);
        }
        return new SrStat(Wire.string(n, "sr", w), Wire.string(n, "name", w), Wire.optionalString(n, "uuid", w),
                Wire.string(n, "description", w), Wire.int64(n, "free_space", w), Wire.int64(n, "total_space", w),
                Wire.stringList(n, "datasources", w), Wire.bool(n, "clustered", w),
                h.get(0).asText(), h.get(1).asText());
    }

    public boolean healthy() {
        return health.equalsIgnoreCase("Healthy");
    }
}
