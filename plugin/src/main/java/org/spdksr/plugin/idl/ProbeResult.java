package org.spdksr.plugin.idl;

import java.util.Map;

/**
 * One {@code SR.probe} answer (smapiv3.md §4.1). xapi-storage-script rejects the whole probe if a
 * result naming an SR lacks {@code sr_uuid} in its configuration or is not complete, so the
 * constructor refuses to build such a result.
 */
public record ProbeResult(Map<String, String> configuration, boolean complete, SrStat sr, Map<String, String> extraInfo) {

    public ProbeResult {
        configuration = Map.copyOf(configuration);
        extraInfo = Map.copyOf(extraInfo);
        if ((sr != null || configuration.containsKey("sr_uuid")) && !complete) {
            throw new IllegalArgumentException("a probe result that names an SR must be complete");
        }
        if (sr != null && !configuration.containsKey("sr_uuid")) {
            throw new IllegalArgumentException("a probe result with an SR must carry sr_uuid in its configuration");
        }
    }
}
