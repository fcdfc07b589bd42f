package org.spdksr.plugin.spdk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The SPDK calls spdk-sr makes, typed (spdk-rpc.md §6). Every failure is an
 * {@link SpdkRpcException} whose {@link SpdkErrorKind} says what happened. One client holds one
 * connection; calls on it are serialised.
 */
public final class SpdkClient implements AutoCloseable {
    private final ObjectMapper mapper;
    private final SpdkRpcTransport transport;
    private final SpdkClientSettings settings;

    public SpdkClient(SpdkClientSettings settings) {
        this.settings = settings;
        this.mapper = new ObjectMapper();
        this.transport = new SpdkRpcTransport(settings, mapper);
    }

    public Path socket() {
        return settings.socket();
    }

    // --- application -------------------------------------------------------------------------

    /** {@code spdk_get_version}: takes no params at all (passing any gives -32602, §3). */
    public SpdkVersion version() throws SpdkRpcException {
        JsonNode r = transport.call("spdk_get_version", null);
        JsonNode f = r.path("fields");
        return new SpdkVersion(r.path("version").asText(), f.path("major").asInt(), f.path("minor").asInt(),
                f.path("patch").asInt());
    }

    /** {@code framework_wait_init}: returns once subsystems are initialised (§3). */
    public void waitForInit() throws SpdkRpcException {
        transport.call("framework_wait_init", null);
    }

    /**
     * save_config done client-side as rpc.py does (§4): the subsystem list, then each one's config.
     */
    public SavedConfig saveConfig() throws SpdkRpcException {
        ObjectNode root = mapper.createObjectNode();
        ArrayNode subsystems = root.putArray("subsystems");
        for (JsonNode subsystem : transport.call("framework_get_subsystems", null)) {
            String name = subsystem.path("subsystem").asText();
            ObjectNode entry = subsystems.addObject();
            entry.put("subsystem", name);
            entry.set("config", transport.call("framework_get_config", mapper.createObjectNode().put("name", name)));
        }
        return new SavedConfig(root);
    }

    // --- bdevs -------------------------------------------------------------------------------

    /** The bdev with this name or alias; empty if there is none (-19, §6). */
    public Optional<Bdev> bdev(String nameOrAlias) throws SpdkRpcException {
        return first("bdev_get_bdevs", mapper.createObjectNode().put("name", nameOrAlias)).map(SpdkClient::bdevOf);
    }

    /** The first element of a lookup's list; empty when the list is empty or the object is unknown (-19, §6). */
    private Optional<JsonNode> first(String method, ObjectNode params) throws SpdkRpcException {
        try {
            JsonNode r = transport.call(method, params);
            return r.size() == 0 ? Optional.empty() : Optional.of(r.get(0));
        } catch (SpdkRpcException e) {
            if (e.kind() == SpdkErrorKind.NOT_FOUND) {
                return Optional.empty();
            }
            throw e;
        }
    }

    public List<Bdev> bdevs() throws SpdkRpcException {
        List<Bdev> bdevs = new ArrayList<>();
        for (JsonNode b : transport.call("bdev_get_bdevs", null)) {
            bdevs.add(bdevOf(b));
        }
        return bdevs;
    }

    /** {@code bdev_aio_create}: the file must exist; its size sets the bdev's size (§6). */
    public String aioCreate(String name, Path file) throws SpdkRpcException {
        ObjectNode p = mapper.createObjectNode().put("name", name).put("filename", file.toString());
        return transport.call("bdev_aio_create", p).asText();
    }

    public void aioDelete(String name) throws SpdkRpcException {
        transport.call("bdev_aio_delete", mapper.createObjectNode().put("name", name));
    }

    /** {@code bdev_nvme_attach_controller} over PCIe; returns the namespace bdevs ({@code <name>n<nsid>}, §6). */
    public List<String> nvmeAttachPcie(String name, String pciAddress) throws SpdkRpcException {
        ObjectNode p = mapper.createObjectNode().put("name", name).put("trtype", "PCIe").put("traddr", pciAddress);
        List<String> bdevs = new ArrayList<>();
        transport.call("bdev_nvme_attach_controller", p).forEach(n -> bdevs.add(n.asText()));
        return bdevs;
    }

    public void nvmeDetach(String name) throws SpdkRpcException {
        transport.call("bdev_nvme_detach_controller", mapper.createObjectNode().put("name", name));
    }

    public List<NvmeController> nvmeControllers() throws SpdkRpcException {
        List<NvmeController> controllers = new ArrayList<>();
        for (JsonNode c : transport.call("bdev_nvme_get_controllers", null)) {
            JsonNode trid = c.path("ctrlrs").path(0).path("trid");
            controllers.add(new NvmeController(c.path("name").asText(), trid.path("trtype").asText(),
                    trid.path("traddr").asText()));
        }
        return controllers;
    }

    /** {@code bdev_wait_for_examine}: after it, lvstores on newly registered bdevs are loaded (§5). */
    public void waitForExamine() throws SpdkRpcException {
        transport.call("bdev_wait_for_examine", null);
    }

    // --- lvstores ----------------------------------------------------------------------------

    /** Returns the new lvstore's uuid. Without a cluster size SPDK uses its default (4 MiB). */
    public String createLvstore(String bdevName, String lvsName, OptionalLong clusterSize) throws SpdkRpcException {
        ObjectNode p = mapper.createObjectNode().put("bdev_name", bdevName).put("lvs_name", lvsName);
        clusterSize.ifPresent(size -> p.put("cluster_sz", size));
        return transport.call("bdev_lvol_create_lvstore", p).asText();
    }

    /** Every lvstore. The params member is left out: {@code {}} gets -22 (§6). */
    public List<Lvstore> lvstores() throws SpdkRpcException {
        List<Lvstore> stores = new ArrayList<>();
        for (JsonNode s : transport.call("bdev_lvol_get_lvstores", null)) {
            stores.add(lvstoreOf(s));
        }
        return stores;
    }

    public Optional<Lvstore> lvstoreByName(String name) throws SpdkRpcException {
        return oneLvstore(mapper.createObjectNode().put("lvs_name", name));
    }

    public Optional<Lvstore> lvstoreByUuid(String uuid) throws SpdkRpcException {
        return oneLvstore(mapper.createObjectNode().put("uuid", uuid));
    }

    private Optional<Lvstore> oneLvstore(ObjectNode params) throws SpdkRpcException {
        try {
            JsonNode r = transport.call("bdev_lvol_get_lvstores", params);
            return r.size() == 0 ? Optional.empty() : Optional.of(lvstoreOf(r.get(0)));
        } catch (SpdkRpcException e) {
            if (e.kind() == SpdkErrorKind.NOT_FOUND) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** Deletes the lvstore and, with it, every lvol in it (§6). */
    public void deleteLvstore(String uuid) throws SpdkRpcException {
        transport.call("bdev_lvol_delete_lvstore", mapper.createObjectNode().put("uuid", uuid));
    }

    // --- lvols -------------------------------------------------------------------------------

    /** Returns the new lvol's uuid; the size is rounded up to a whole cluster by SPDK (§6). */
    public String createLvol(String lvsUuid, String name, long sizeMib, boolean thin) throws SpdkRpcException {
        ObjectNode p = mapper.createObjectNode().put("lvol_name", name).put("size_in_mib", sizeMib)
                .put("uuid", lvsUuid).put("thin_provision", thin);
        return transport.call("bdev_lvol_create", p).asText();
    }

    /** The lvols of one lvstore. */
    public List<Lvol> lvols(String lvsUuid) throws SpdkRpcException {
        List<Lvol> lvols = new ArrayList<>();
        for (JsonNode l : transport.call("bdev_lvol_get_lvols", mapper.createObjectNode().put("lvs_uuid", lvsUuid))) {
            lvols.add(new Lvol(l.path("alias").asText(), l.path("uuid").asText(), l.path("name").asText(),
                    l.path("is_thin_provisioned").asBoolean(), l.path("is_snapshot").asBoolean(),
                    l.path("is_clone").asBoolean(), l.path("is_degraded").asBoolean(),
                    l.path("num_allocated_clusters").asLong(), l.path("lvs").path("name").asText(),
                    l.path("lvs").path("uuid").asText()));
        }
        return lvols;
    }

    /** The origin becomes a thin clone of the new read-only snapshot; returns the snapshot's uuid (§6). */
    public String snapshot(String lvol, String snapshotName) throws SpdkRpcException {
        ObjectNode p = mapper.createObjectNode().put("lvol_name", lvol).put("snapshot_name", snapshotName);
        return transport.call("bdev_lvol_snapshot", p).asText();
    }

    /** The source must be a snapshot or read-only lvol, else -32602 Invalid argument (§6). */
    public String clone(String snapshot, String cloneName) throws SpdkRpcException {
        ObjectNode p = mapper.createObjectNode().put("snapshot_name", snapshot).put("clone_name", cloneName);
        return transport.call("bdev_lvol_clone", p).asText();
    }

    public void resize(String lvol, long sizeMib) throws SpdkRpcException {
        transport.call("bdev_lvol_resize", mapper.createObjectNode().put("name", lvol).put("size_in_mib", sizeMib));
    }

    public void setReadOnly(String lvol) throws SpdkRpcException {
        transport.call("bdev_lvol_set_read_only", mapper.createObjectNode().put("name", lvol));
    }

    /** {@code newName} is the bare lvol name; uuid and bdev name stay (§6). */
    public void rename(String lvol, String newName) throws SpdkRpcException {
        transport.call("bdev_lvol_rename", mapper.createObjectNode().put("old_name", lvol).put("new_name", newName));
    }

    /** Fails with NOT_PERMITTED for a snapshot with two or more clones (§6). */
    public void delete(String lvol) throws SpdkRpcException {
        transport.call("bdev_lvol_delete", mapper.createObjectNode().put("name", lvol));
    }

    /** Copies what the parents hold into the lvol, keeping unallocated clusters thin (§6). */
    public void decoupleParent(String lvol) throws SpdkRpcException {
        transport.call("bdev_lvol_decouple_parent", mapper.createObjectNode().put("name", lvol));
    }

    // --- vhost-user-blk (§6, export paths) ----------------------------------------------------

    /**
     * {@code vhost_create_blk_controller}: spdk_tgt starts a vhost-user server socket
     * {@code <-S dir>/<name>} exporting {@code bdev}. The bdev key is {@code dev_name}, not the
     * {@code bdev_name} of SPDK's own method table, which spdk_tgt rejects (§6, seen).
     */
    public void createVhostBlkController(String name, String bdev, boolean readOnly) throws SpdkRpcException {
        ObjectNode p = mapper.createObjectNode().put("ctrlr", name).put("dev_name", bdev);
        if (readOnly) {
            p.put("readonly", true);
        }
        transport.call("vhost_create_blk_controller", p);
    }

    /** The controller of that name; empty if there is none. */
    public Optional<VhostController> vhostController(String name) throws SpdkRpcException {
        return first("vhost_get_controllers", mapper.createObjectNode().put("name", name))
                .map(SpdkClient::vhostControllerOf);
    }

    public List<VhostController> vhostControllers() throws SpdkRpcException {
        List<VhostController> controllers = new ArrayList<>();
        for (JsonNode c : transport.call("vhost_get_controllers", null)) {
            controllers.add(vhostControllerOf(c));
        }
        return controllers;
    }

    /** {@code vhost_delete_controller}: refused while an initiator is connected (§6). */
    public void deleteVhostController(String name) throws SpdkRpcException {
        transport.call("vhost_delete_controller", mapper.createObjectNode().put("ctrlr", name));
    }

    @Override
    public void close() {
        transport.close();
    }

    private static Bdev bdevOf(JsonNode b) {
        List<String> aliases = new ArrayList<>();
        b.path("aliases").forEach(a -> aliases.add(a.asText()));
        JsonNode l = b.path("driver_specific").path("lvol");
        Bdev.LvolDetails lvol = l.isObject()
                ? new Bdev.LvolDetails(l.path("lvol_store_uuid").asText(), l.path("base_bdev").asText(),
                        l.path("thin_provision").asBoolean(), l.path("num_allocated_clusters").asLong(),
                        l.path("snapshot").asBoolean(), l.path("clone").asBoolean())
                : null;
        return new Bdev(b.path("name").asText(), aliases, b.path("uuid").asText(), b.path("product_name").asText(),
                b.path("block_size").asLong(), b.path("num_blocks").asLong(), b.path("claimed").asBoolean(), lvol);
    }

    private static VhostController vhostControllerOf(JsonNode c) {
        JsonNode block = c.path("backend_specific").path("block");
        return new VhostController(c.path("ctrlr").asText(), Path.of(c.path("socket").asText()),
                block.path("bdev").asText(), block.path("readonly").asBoolean(), c.path("sessions").size());
    }

    private static Lvstore lvstoreOf(JsonNode s) {
        return new Lvstore(s.path("uuid").asText(), s.path("name").asText(), s.path("base_bdev").asText(),
                s.path("total_data_clusters").asLong(), s.path("free_clusters").asLong(), s.path("block_size").asLong(),
                s.path("cluster_size").asLong());
    }
}
