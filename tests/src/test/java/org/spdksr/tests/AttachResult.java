package org.spdksr.tests;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/**
 * The parts of a {@code Datapath.attach} result xenopsd uses (smapiv3.md §7.2): the first XenDisk
 * and the Nbd URI, parsed from the wire form {@code {"implementations": [["XenDisk", {...}], ...]}}.
 */
public record AttachResult(String backendType, String params, Map<String, String> extra, String nbdUri) {

    public static AttachResult from(JsonNode backend) {
        JsonNode impls = Json.field(backend, "implementations");
        if (impls == null || !impls.isArray()) {
            throw new ProtocolViolation("attach result without implementations: " + backend);
        }
        String type = null;
        String params = null;
        Map<String, String> extra = null;
        String nbd = null;
        for (JsonNode impl : impls) {
            if (!impl.isArray() || impl.size() != 2) {
                throw new ProtocolViolation("an implementation must be [\"Name\", {...}]: " + impl);
            }
            String name = impl.get(0).asText();
            JsonNode arg = impl.get(1);
            if (name.equalsIgnoreCase("XenDisk") && type == null) {
                type = Wire.string(arg, "backend_type", "XenDisk");
                params = Wire.string(arg, "params", "XenDisk");
                extra = Json.stringMap(Wire.required(arg, "extra", "XenDisk"), "XenDisk.extra");
            } else if (name.equalsIgnoreCase("Nbd") && nbd == null) {
                nbd = Wire.string(arg, "uri", "Nbd");
            }
        }
        if (type == null) {
            throw new ProtocolViolation("xenopsd needs a XenDisk implementation (§7.2): " + backend);
        }
        return new AttachResult(type, params, extra, nbd);
    }

    /** What xenopsd writes as {@code params}: the Nbd URI when there is no BlockDevice or File (§7.2 item 2). */
    public String xenstoreParams() {
        return nbd() != null ? nbd() : "";
    }

    private String nbd() {
        return nbdUri;
    }

    /** The unix socket of the NBD export, from {@code nbd:unix:<socket>:exportname=<name>}. */
    public String nbdSocket() {
        String[] parts = nbdUri.split(":");
        return parts[2];
    }

    public String exportName() {
        return nbdUri.substring(nbdUri.indexOf(":exportname=") + ":exportname=".length());
    }
}
