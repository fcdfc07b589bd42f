package org.spdksr.tests;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/** query_result of Plugin.query (smapiv3.md §4.1): every field mandatory. */
public record QueryResult(String plugin, String name, String description, String vendor, String copyright,
                          String version, String requiredApiVersion, List<String> features,
                          Map<String, String> configuration, List<String> requiredClusterStack) {
    public static QueryResult from(JsonNode n) {
        String w = "query_result";
        return new QueryResult(Wire.string(n, "plugin", w), Wire.string(n, "name", w),
                Wire.string(n, "description", w), Wire.string(n, "vendor", w), Wire.string(n, "copyright", w),
                Wire.string(n, "version", w), Wire.string(n, "required_api_version", w),
                Wire.stringList(n, "features", w),
                Json.stringMap(Wire.required(n, "configuration", w), w + ".configuration"),
                Wire.stringList(n, "required_cluster_stack", w));
    }
}
