package org.spdksr.plugin.idl;

import java.util.List;
import java.util.Map;

/** {@code Plugin.query} result; every field is mandatory (smapiv3.md §4.1). */
public record QueryResult(
        String plugin,
        String name,
        String description,
        String vendor,
        String copyright,
        String version,
        String requiredApiVersion,
        List<String> features,
        Map<String, String> configuration,
        List<String> requiredClusterStack) {

    public QueryResult {
        features = List.copyOf(features);
        configuration = Map.copyOf(configuration);
        requiredClusterStack = List.copyOf(requiredClusterStack);
    }
}
