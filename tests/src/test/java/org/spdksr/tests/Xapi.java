package org.spdksr.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The call sequences xapi drives through xapi-storage-script for each XenAPI operation
 * (smapiv3.md §6), as typed helpers over {@link XapiStorageScript}.
 */
public final class Xapi {
    private static final AtomicLong TASKS = new AtomicLong();

    private final XapiStorageScript xss;

    public Xapi(XapiStorageScript xss) {
        this.xss = xss;
    }

    public static Xapi staged() {
        return new Xapi(XapiStorageScript.staged());
    }

    public XapiStorageScript xss() {
        return xss;
    }

    /** An opaque debug context like the task references xapi passes (§3.6). */
    public static String dbg(String what) {
        return "OpaqueRef:test-" + TASKS.incrementAndGet() + " " + what;
    }

    /** Args with dbg first, as every call carries it. */
    public static ObjectNode args(String method, Object... namesAndValues) {
        ObjectNode n = Json.obj("dbg", dbg(method));
        n.setAll(Json.obj(namesAndValues));
        return n;
    }

    public JsonNode volumeCall(String method, Object... namesAndValues) {
        return xss.volume(method, args(method, namesAndValues));
    }

    // ---- Plugin ----------------------------------------------------------------------------

    public QueryResult query() {
        return QueryResult.from(volumeCall("Plugin.Query"));
    }

    public QueryResult datapathQuery() {
        return QueryResult.from(xss.datapath("Plugin.Query", args("Plugin.Query")));
    }

    // ---- SR sequences ----------------------------------------------------------------------

    /** xe sr-create: one SR.create; its result replaces the PBDs' device-config (§6). */
    public Map<String, String> srCreate(String uuid, Map<String, String> deviceConfig, String name, String description) {
        JsonNode r = volumeCall("SR.create", "uuid", uuid, "configuration", deviceConfig,
                "name", name, "description", description);
        return Json.stringMap(r, "SR.create result");
    }

    /** What sr-create leaves behind: the stored device-config, the SR plugged. */
    public record CreatedSr(String uuid, Map<String, String> deviceConfig, AttachedSr attached) {
        public String sr() {
            return attached.sr();
        }
    }

    /** xe sr-create followed by the PBD plug xapi does right after (§6). */
    public CreatedSr srCreateAndPlug(Map<String, String> deviceConfig, String name, String description) {
        String uuid = UUID.randomUUID().toString();
        Map<String, String> stored = srCreate(uuid, deviceConfig, name, description);
        return new CreatedSr(uuid, stored, pbdPlug(stored));
    }

    /** The state XSS keeps after a plug: the sr handle plus what it learnt on the way. */
    public record AttachedSr(String sr, SrStat stat, QueryResult query) {
    }

    /** PBD.plug: Plugin.Query (re-registers the SM), SR.attach, SR.stat (§6). */
    public AttachedSr pbdPlug(Map<String, String> deviceConfig) {
        QueryResult q = query();
        JsonNode handle = volumeCall("SR.attach", "configuration", deviceConfig);
        if (!handle.isTextual()) {
            throw new ProtocolViolation("SR.attach must return a string, got " + handle);
        }
        SrStat stat = srStat(handle.asText());
        return new AttachedSr(handle.asText(), stat, q);
    }

    public void pbdUnplug(String sr) {
        expectUnit("SR.detach", volumeCall("SR.detach", "sr", sr));
    }

    public SrStat srStat(String sr) {
        return SrStat.from(volumeCall("SR.stat", "sr", sr));
    }

    public List<Volume> srLs(String sr) {
        return Volume.listFrom(volumeCall("SR.ls", "sr", sr));
    }

    public record Scan(SrStat stat, List<Volume> volumes) {
        public Volume volume(String key) {
            return volumes.stream().filter(v -> v.key().equals(key)).findFirst().orElse(null);
        }
    }

    /** xe sr-scan: SR.stat as a health check, then SR.ls (§6; XSS raises SR_UNHEALTHY otherwise, §3.4). */
    public Scan srScan(String sr) {
        SrStat stat = srStat(sr);
        if (!stat.healthy()) {
            throw new StorageException(new ErrorRecord("SR_UNHEALTHY",
                    List.of(sr, stat.health(), stat.healthMessage()), ""), null);
        }
        return new Scan(stat, srLs(sr));
    }

    public List<ProbeResult> srProbe(Map<String, String> deviceConfig) {
        return ProbeResult.listFrom(volumeCall("SR.probe", "configuration", deviceConfig));
    }

    public void srSetName(String sr, String name) {
        expectUnit("SR.set_name", volumeCall("SR.set_name", "sr", sr, "new_name", name));
    }

    public void srSetDescription(String sr, String description) {
        expectUnit("SR.set_description", volumeCall("SR.set_description", "sr", sr, "new_description", description));
    }

    /** xe sr-destroy: a temporary SR.attach, then SR.destroy; no SR.detach follows (§6). */
    public void srDestroy(Map<String, String> deviceConfig) {
        JsonNode handle = volumeCall("SR.attach", "configuration", deviceConfig);
        expectUnit("SR.destroy", volumeCall("SR.destroy", "sr", handle.asText()));
    }

    // ---- VDI sequences ---------------------------------------------------------------------

    /** vdi-create: Volume.create, then Volume.set vdi-type (§4.5, §5). */
    public Volume vdiCreate(String sr, String name, String description, long size, boolean sharable) {
        Volume v = Volume.from(volumeCall("Volume.create", "sr", sr, "name", name, "description", description,
                "size", size, "sharable", sharable));
        volumeSet(sr, v.key(), "vdi-type", "user");
        return v;
    }

    public Volume vdiCreate(String sr, String name, long size) {
        return vdiCreate(sr, name, "", size, false);
    }

    /** The snapshot record plus the keys XSS wrote on it. */
    public record Snapshot(Volume volume, Map<String, String> xapiKeys) {
        public String key() {
            return volume.key();
        }
    }

    /**
     * vdi-snapshot: Volume.snapshot, then the keys XSS stores on the snapshot (§5): vdi-type,
     * content_id, is_a_snapshot, snapshot_of (the source key) and snapshot_time (RFC 3339).
     */
    public Snapshot vdiSnapshot(String sr, String key, String vdiType, String contentId) {
        Volume snap = Volume.from(volumeCall("Volume.snapshot", "sr", sr, "key", key));
        Map<String, String> written = new LinkedHashMap<>();
        written.put("vdi-type", vdiType);
        written.put("content_id", contentId);
        written.put("is_a_snapshot", "true");
        written.put("snapshot_of", key);
        written.put("snapshot_time", OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS)
                .format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        written.forEach((k, v) -> volumeSet(sr, snap.key(), k, v));
        return new Snapshot(snap, written);
    }

    public Snapshot vdiSnapshot(String sr, String key) {
        return vdiSnapshot(sr, key, "user", UUID.randomUUID().toString());
    }

    /**
     * vdi-clone: Volume.clone, then the VDI type is stored on the new volume like after a create
     * (inference from §5: the clone is a fresh user VDI for xapi).
     */
    public Volume vdiClone(String sr, String key) {
        Volume clone = Volume.from(volumeCall("Volume.clone", "sr", sr, "key", key));
        volumeSet(sr, clone.key(), "vdi-type", "user");
        return clone;
    }

    /** vdi-resize: Volume.resize, then Volume.stat for the new virtual_size (§4.5). */
    public Volume vdiResize(String sr, String key, long newSize) {
        expectUnit("Volume.resize", volumeCall("Volume.resize", "sr", sr, "key", key, "new_size", newSize));
        return volumeStat(sr, key);
    }

    public void vdiDestroy(String sr, String key) {
        expectUnit("Volume.destroy", volumeCall("Volume.destroy", "sr", sr, "key", key));
    }

    public Volume volumeStat(String sr, String key) {
        return Volume.from(volumeCall("Volume.stat", "sr", sr, "key", key));
    }

    public void volumeSet(String sr, String key, String k, String v) {
        expectUnit("Volume.set", volumeCall("Volume.set", "sr", sr, "key", key, "k", k, "v", v));
    }

    public void volumeUnset(String sr, String key, String k) {
        expectUnit("Volume.unset", volumeCall("Volume.unset", "sr", sr, "key", key, "k", k));
    }

    public void volumeSetName(String sr, String key, String name) {
        expectUnit("Volume.set_name", volumeCall("Volume.set_name", "sr", sr, "key", key, "new_name", name));
    }

    public void volumeSetDescription(String sr, String key, String description) {
        expectUnit("Volume.set_description",
                volumeCall("Volume.set_description", "sr", sr, "key", key, "new_description", description));
    }

    // ---- Datapath sequences (§6: VM start and shutdown, per disk) ----------------------------

    public JsonNode datapathCall(String method, Object... namesAndValues) {
        return xss.datapath(method, args(method, namesAndValues));
    }

    /** The first URI of the volume whose scheme is our datapath's, as XSS's choose_datapath picks it (§2.5). */
    public String datapathUri(String sr, String key) {
        return volumeStat(sr, key).uri().stream().filter(u -> u.startsWith("spdk-sr:")).findFirst()
                .orElseThrow(() -> new ProtocolViolation("volume " + key + " has no spdk-sr URI"));
    }

    /** VDI.attach3: Volume.stat, then Datapath.attach; returns the backend (§4.6, §7). */
    public JsonNode vdiAttach(String uri, String domain) {
        return datapathCall("Datapath.attach", "uri", uri, "domain", domain);
    }

    public void vdiActivate(String uri, String domain) {
        expectUnit("Datapath.activate", datapathCall("Datapath.activate", "uri", uri, "domain", domain));
    }

    public void vdiActivateReadonly(String uri, String domain) {
        expectUnit("Datapath.activate_readonly", datapathCall("Datapath.activate_readonly", "uri", uri, "domain", domain));
    }

    public void vdiDeactivate(String uri, String domain) {
        expectUnit("Datapath.deactivate", datapathCall("Datapath.deactivate", "uri", uri, "domain", domain));
    }

    public void vdiDetach(String uri, String domain) {
        expectUnit("Datapath.detach", datapathCall("Datapath.detach", "uri", uri, "domain", domain));
    }

    /** VDI.epoch_begin with NONPERSISTENT: Datapath.open (§4.6). */
    public void vdiEpochBegin(String uri, boolean persistent) {
        expectUnit("Datapath.open", datapathCall("Datapath.open", "uri", uri, "persistent", persistent));
    }

    public void vdiEpochEnd(String uri) {
        expectUnit("Datapath.close", datapathCall("Datapath.close", "uri", uri));
    }

    /** Unit results are printed as null (§3.2); anything else would not unmarshal as unit. */
    private static void expectUnit(String method, JsonNode result) {
        if (!result.isNull()) {
            throw new ProtocolViolation(method + " must return null, got " + result);
        }
    }
}
