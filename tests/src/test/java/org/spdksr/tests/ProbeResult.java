package org.spdksr.tests;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** probe_result (smapiv3.md §4.1); {@code sr} is null when the option is omitted. */
public record ProbeResult(Map<String, String> configuration, boolean complete, SrStat sr,
                          Map<String, String> extraInfo) {
    public static List<ProbeResult> listFrom(JsonNode n) {
        if (n == null || !n.isArray()) {
            throw new ProtocolViolation("SR.probe must return a list, got " + n);
        }
        List<ProbeResult> out = new ArrayList<>();
        for (JsonNode e : n) {
            String w = "probe_result";
            JsonNode sr = Json.field(e, "sr");
            ProbeResult r = new ProbeResult(Json.stringMap(Wire.required(e, "configuration", w), w + ".configuration"),
                    Wire.bool(e, "complete", w), sr == null ? null : SrStat.from(sr),
                    Json.stringMap(Wire.required(e, "extra_info", w), w + ".extra_info"));
            r.checkAsXssDoes();
            out.add(r);
        }
        return out;
    }

    /**
     * XSS rejects the whole probe (SCRIPT_FAILED) when a result with sr_uuid is not complete, or a
     * result carrying an sr lacks sr_uuid or is not complete (§4.1 probe_result).
     */
    private void checkAsXssDoes() {
        if (configuration.containsKey("sr_uuid") && !complete) {
            throw new ProtocolViolation("probe result with sr_uuid must be complete: " + this);
        }
        if (sr != null && (!configuration.containsKey("sr_uuid") || !complete)) {
            throw new ProtocolViolation("probe result with an sr needs sr_uuid and complete=true: " + this);
        }
    }
}
