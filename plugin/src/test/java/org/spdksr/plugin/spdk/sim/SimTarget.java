package org.spdksr.plugin.spdk.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * The state of one simulated spdk_tgt and the methods spdk-sr uses, with the results, error codes
 * and messages of spdk-rpc.md §2 and §6. Every method runs under the target's monitor, so each
 * completes atomically, as a method on SPDK's single RPC thread does.
 */
final class SimTarget {
    /** Default cluster size of bdev_lvol_create_lvstore (§6). */
    static final long DEFAULT_CLUSTER = 4L << 20;
    /** SPDK_LVOL_NAME_MAX / SPDK_LVS_NAME_MAX are 64 with the terminating NUL. */
    private static final int NAME_MAX = 63;
    private static final long MIB = 1L << 20;

    private final ObjectMapper mapper;
    private final LvstoreImage images;
    private final Map<String, SimBdev> bdevs = new LinkedHashMap<>();
    private final Map<String, SimLvstore> lvstores = new LinkedHashMap<>();
    /** PCI address -> backing file of a simulated NVMe drive (there is no PCIe here). */
    private final Map<String, Path> pciDevices = new LinkedHashMap<>();
    /** controller name -> PCI address. */
    private final Map<String, String> controllers = new LinkedHashMap<>();

    private final SimVhost vhost;
    /** After {@link #shutdown}: the process is gone, so nothing it would have done may happen. */
    private boolean exited;

    SimTarget(ObjectMapper mapper, Path vhostDir) {
        this.mapper = mapper;
        this.images = new LvstoreImage(mapper);
        this.vhost = new SimVhost(mapper, vhostDir);
    }

    synchronized JsonNode call(String method, JsonNode params) {
        if (exited) {
            // A request that raced the exit: a real spdk_tgt is gone, and no reply ever arrives.
            throw new TargetExited();
        }
        try {
            syncExportedData();
            return dispatch(method, params);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private JsonNode dispatch(String method, JsonNode params) throws IOException {
        return switch (method) {
            case "spdk_get_version" -> version(params);
            case "framework_wait_init", "bdev_wait_for_examine" -> {
                // Examine runs to completion when a bdev registers here, so there is nothing to wait for.
                yield BooleanNode.TRUE;
            }
            case "framework_get_subsystems" -> subsystems();
            case "framework_get_config" -> config(SimParams.of(params, "name").string("name"));
            case "bdev_get_bdevs" -> getBdevs(params);
            case "bdev_aio_create" -> aioCreate(params);
            case "bdev_aio_delete" -> deviceDelete(SimParams.of(params, "name").string("name"), SimBdev.Kind.AIO);
            case "bdev_nvme_attach_controller" -> nvmeAttach(params);
            case "bdev_nvme_detach_controller" -> nvmeDetach(params);
            case "bdev_nvme_get_controllers" -> nvmeControllers(params);
            case "bdev_lvol_create_lvstore" -> createLvstore(params);
            case "bdev_lvol_get_lvstores" -> getLvstores(params);
            case "bdev_lvol_delete_lvstore" -> deleteLvstore(params);
            case "bdev_lvol_create" -> createLvol(params);
            case "bdev_lvol_get_lvols" -> getLvols(params);
            case "bdev_lvol_snapshot" -> snapshot(params);
            case "bdev_lvol_clone" -> cloneLvol(params);
            case "bdev_lvol_resize" -> resize(params);
            case "bdev_lvol_set_read_only" -> setReadOnly(params);
            case "bdev_lvol_rename" -> rename(params);
            case "bdev_lvol_delete" -> deleteLvol(params);
            case "bdev_lvol_decouple_parent" -> decouple(params, false);
            case "bdev_lvol_inflate" -> decouple(params, true);
            case "vhost_create_blk_controller" -> vhost.create(params, this::lookup);
            case "vhost_get_controllers" -> vhost.get(params);
            case "vhost_delete_controller" -> vhost.delete(params);
            default -> throw new SimError(-32601, "Method not found");
        };
    }

    /** Guest writes and discards through exported lvols change their allocation (see {@link LvolData}). */
    private void syncExportedData() throws IOException {
        for (SimLvstore store : lvstores.values()) {
            boolean changed = false;
            for (SimLvol lvol : store.lvols.values()) {
                if (lvol.seen != null) {
                    BitSet before = (BitSet) lvol.allocated.clone();
                    LvolData.sync(store, lvol);
                    changed |= !before.equals(lvol.allocated);
                }
            }
            if (changed) {
                images.write(store);
            }
        }
    }

    /** The app exits: vhost sockets go away with it. */
    synchronized void shutdown() {
        exited = true;
        vhost.closeAll();
    }

    /** Thrown to the connection that carried a request after the exit; it closes without a reply. */
    static final class TargetExited extends RuntimeException {
        TargetExited() {
            super("spdk_tgt exited", null, false, false);
        }
    }

    // --- test hooks (not RPCs) -----------------------------------------------------------------

    synchronized void addPciDevice(String address, Path backing) {
        pciDevices.put(address, backing);
    }

    synchronized void claimByOtherModule(String bdevName) {
        SimBdev bdev = bdevs.get(bdevName);
        if (bdev == null) {
            throw new IllegalArgumentException("no bdev " + bdevName);
        }
        bdev.claimedByOther = true;
    }

    /** A guest write: allocates the clusters it touches in a thin lvol, failing when the store is full. */
    synchronized void write(String lvolName, long offset, long length) throws IOException {
        SimBdev bdev = lookup(lvolName);
        if (bdev == null || bdev.lvol == null) {
            throw new IllegalArgumentException("no lvol " + lvolName);
        }
        SimLvol lvol = bdev.lvol;
        if (lvol.readOnly) {
            throw new IOException("lvol " + lvolName + " is read-only");
        }
        long first = offset / bdev.lvstore.clusterSize;
        long last = (offset + length - 1) / bdev.lvstore.clusterSize;
        for (long c = first; c <= last; c++) {
            if (!lvol.allocated.get((int) c)) {
                if (bdev.lvstore.freeClusters() == 0) {
                    throw new IOException("No space left on device");
                }
                lvol.allocated.set((int) c);
            }
        }
        images.write(bdev.lvstore);
    }

    // --- application --------------------------------------------------------------------------

    private JsonNode version(JsonNode params) {
        if (params != null && !params.isNull()) {
            throw new SimError(-32602, "spdk_get_version method requires no parameters"); // §3 (seen)
        }
        ObjectNode r = mapper.createObjectNode().put("version", "SPDK v25.05");
        r.putObject("fields").put("major", 25).put("minor", 5).put("patch", 0).put("suffix", "");
        return r;
    }

    private static final List<String> SUBSYSTEMS = List.of("fsdev", "keyring", "iobuf", "sock", "vmd", "accel", "bdev",
            "scsi", "scheduler", "vhost_scsi", "vhost_blk", "ublk", "nbd", "nvmf", "iscsi");

    /** The subsystem order seen in v25.05's save_config (§4); dependencies are not modelled. */
    private JsonNode subsystems() {
        ArrayNode list = mapper.createArrayNode();
        for (String name : SUBSYSTEMS) {
            list.addObject().put("subsystem", name).putArray("depends_on");
        }
        return list;
    }

    /** Only the bdev subsystem has content here: the base bdevs with their uuids, then wait_for_examine (§4). */
    private JsonNode config(String subsystem) throws IOException {
        if (!SUBSYSTEMS.contains(subsystem)) {
            throw new SimError(-32602, "Invalid parameters"); // not documented in spdk-rpc.md
        }
        ArrayNode config = mapper.createArrayNode();
        if (subsystem.equals("vhost_blk")) {
            vhost.config(config);
            return config;
        }
        if (!subsystem.equals("bdev")) {
            return config;
        }
        config.addObject().put("method", "bdev_set_options").putObject("params").put("bdev_auto_examine", true);
        for (Map.Entry<String, String> c : controllers.entrySet()) {
            config.addObject().put("method", "bdev_nvme_attach_controller").putObject("params").put("name", c.getKey())
                    .put("trtype", "PCIe").put("traddr", c.getValue());
        }
        for (SimBdev bdev : bdevs.values()) {
            if (bdev.kind == SimBdev.Kind.AIO) {
                config.addObject().put("method", "bdev_aio_create").putObject("params").put("name", bdev.name)
                        .put("filename", bdev.backing.toString()).put("block_size", bdev.blockSize)
                        .put("readonly", false).put("fallocate", false).put("uuid", bdev.uuid);
            }
        }
        // Lvols and lvstores are never in the config (§4).
        config.addObject().put("method", "bdev_wait_for_examine");
        return config;
    }

    // --- bdevs --------------------------------------------------------------------------------

    private SimBdev lookup(String nameOrAlias) {
        SimBdev bdev = bdevs.get(nameOrAlias);
        if (bdev != null) {
            return bdev;
        }
        for (SimBdev b : bdevs.values()) {
            if (b.aliases.contains(nameOrAlias)) {
                return b;
            }
        }
        return null;
    }

    private JsonNode getBdevs(JsonNode params) throws IOException {
        ArrayNode list = mapper.createArrayNode();
        if (params == null || params.isNull()) {
            for (SimBdev bdev : bdevs.values()) {
                list.add(describe(bdev));
            }
            return list;
        }
        SimParams p = SimParams.of(params, "name", "timeout");
        if (!p.has("name")) {
            bdevs.values().forEach(b -> list.add(uncheck(() -> describe(b))));
            return list;
        }
        SimBdev bdev = lookup(p.string("name"));
        if (bdev == null) {
            throw SimError.noDevice(); // §2 (seen)
        }
        list.add(describe(bdev));
        return list;
    }

    private ObjectNode describe(SimBdev bdev) throws IOException {
        ObjectNode b = mapper.createObjectNode();
        b.put("name", bdev.name);
        ArrayNode aliases = b.putArray("aliases");
        bdev.aliases.forEach(aliases::add);
        b.put("product_name", switch (bdev.kind) {
            case AIO -> "AIO disk";
            case NVME -> "NVMe disk";
            case LVOL -> "Logical Volume";
        });
        b.put("block_size", bdev.blockSize).put("num_blocks", bdev.numBlocks()).put("uuid", bdev.uuid)
                .put("claimed", bdev.claimed()).put("zoned", false);
        b.putObject("supported_io_types").put("read", true).put("write", true).put("unmap", true).put("flush", true);
        ObjectNode specific = b.putObject("driver_specific");
        switch (bdev.kind) {
            case AIO -> specific.putObject("aio").put("filename", bdev.backing.toString());
            case NVME -> specific.putArray("nvme").addObject().put("pci_address", controllers.get(bdev.controller));
            case LVOL -> specific.putObject("lvol").put("lvol_store_uuid", bdev.lvstore.uuid)
                    .put("base_bdev", bdev.lvstore.base.name).put("thin_provision", bdev.lvol.thin)
                    .put("num_allocated_clusters", bdev.lvol.allocatedClusters())
                    .put("snapshot", bdev.lvol.snapshot).put("clone", bdev.lvol.parent != null)
                    .put("esnap_clone", false);
        }
        return b;
    }

    private JsonNode aioCreate(JsonNode params) throws IOException {
        SimParams p = SimParams.of(params, "name", "filename", "block_size", "readonly", "fallocate", "uuid");
        String name = p.string("name");
        Path file = Path.of(p.string("filename"));
        if (lookup(name) != null) {
            throw SimError.exists(); // §6 (seen: duplicate name -> -17)
        }
        if (!Files.exists(file)) {
            // Not in spdk-rpc.md: the module reports the open(2) errno synchronously.
            throw new SimError(-2, "No such file or directory");
        }
        long blockSize = p.number("block_size", 512);
        String uuid = p.string("uuid", UUID.randomUUID().toString());
        register(SimBdev.device(name, uuid, SimBdev.Kind.AIO, blockSize, file, null));
        return TextNode.valueOf(name);
    }

    private JsonNode nvmeAttach(JsonNode params) throws IOException {
        SimParams p = SimParams.of(params, "name", "trtype", "traddr", "adrfam", "trsvcid", "subnqn", "hostnqn",
                "multipath", "ctrlr_loss_timeout_sec", "reconnect_delay_sec", "fast_io_fail_timeout_sec",
                "num_io_queues");
        String name = p.string("name");
        String trtype = p.string("trtype");
        String traddr = p.string("traddr");
        if (!trtype.toLowerCase(Locale.ROOT).equals("pcie")) {
            throw new SimError(-19, "No such device"); // only PCIe drives exist in this simulation
        }
        if (controllers.containsKey(name)) {
            if (controllers.get(name).equals(traddr)) {
                throw new SimError(-114, "A controller named " + name + " already exists with the specified network path");
            }
            throw new SimError(-114, "A controller named " + name + " already exists and multipath is disabled"); // unverified
        }
        Path backing = pciDevices.get(traddr);
        if (backing == null || controllers.containsValue(traddr)) {
            throw SimError.noDevice(); // nothing to probe at that address (or already taken): unverified wording
        }
        controllers.put(name, traddr);
        String bdevName = name + "n1";
        register(SimBdev.device(bdevName, UUID.nameUUIDFromBytes(traddr.getBytes()).toString(), SimBdev.Kind.NVME, 512,
                backing, name));
        ArrayNode names = mapper.createArrayNode();
        names.add(bdevName);
        return names;
    }

    private JsonNode nvmeDetach(JsonNode params) throws IOException {
        String name = SimParams.of(params, "name", "trtype", "traddr", "adrfam", "trsvcid", "subnqn").string("name");
        if (controllers.remove(name) == null) {
            throw SimError.noDevice(); // §6 (seen)
        }
        List<SimBdev> namespaces = bdevs.values().stream().filter(b -> name.equals(b.controller)).toList();
        for (SimBdev ns : namespaces) {
            unregister(ns);
        }
        return BooleanNode.TRUE;
    }

    private JsonNode nvmeControllers(JsonNode params) {
        String only = params == null || params.isNull() ? null : SimParams.of(params, "name").string("name", null);
        if (only != null && !controllers.containsKey(only)) {
            throw SimError.noDevice();
        }
        ArrayNode list = mapper.createArrayNode();
        controllers.forEach((name, traddr) -> {
            if (only == null || only.equals(name)) {
                ObjectNode c = list.addObject().put("name", name);
                c.putArray("ctrlrs").addObject().put("state", "enabled").putObject("trid").put("trtype", "PCIe")
                        .put("traddr", traddr);
            }
        });
        return list;
    }

    private JsonNode deviceDelete(String name, SimBdev.Kind kind) throws IOException {
        SimBdev bdev = bdevs.get(name);
        if (bdev == null || bdev.kind != kind) {
            throw SimError.noDevice();
        }
        unregister(bdev);
        return BooleanNode.TRUE;
    }

    /** Registers a device bdev and examines it: an lvstore recorded on it comes back (§5). */
    private void register(SimBdev bdev) throws IOException {
        bdevs.put(bdev.name, bdev);
        SimLvstore store = images.read(bdev);
        if (store == null || lvstores.containsKey(store.uuid)) {
            return;
        }
        lvstores.put(store.uuid, store);
        bdev.claimedBy = store;
        for (SimLvol lvol : store.lvols.values()) {
            SimBdev lvolBdev = SimBdev.lvol(store, lvol);
            bdevs.put(lvolBdev.name, lvolBdev);
            Path data = LvolData.fileOf(store, lvol);
            if (Files.exists(data)) {
                lvol.seen = LvolData.clustersWithData(data, store.clusterSize);
            }
        }
    }

    /** Hot-removes a device bdev: an lvstore on it is unloaded, its metadata stays on the device. */
    private void unregister(SimBdev bdev) {
        bdevs.remove(bdev.name);
        if (bdev.claimedBy != null) {
            SimLvstore store = bdev.claimedBy;
            for (String lvol : store.lvols.keySet()) {
                SimBdev gone = bdevs.remove(lvol);
                if (gone != null) {
                    vhost.bdevRemoved(gone);
                }
            }
            lvstores.remove(store.uuid);
        }
    }

    // --- lvstores -----------------------------------------------------------------------------

    private JsonNode createLvstore(JsonNode params) throws IOException {
        SimParams p = SimParams.of(params, "bdev_name", "lvs_name", "cluster_sz", "clear_method",
                "num_md_pages_per_cluster_ratio", "md_page_size");
        String name = p.string("lvs_name");
        SimBdev base = lookup(p.string("bdev_name"));
        long clusterSize = p.number("cluster_sz", DEFAULT_CLUSTER);
        if (name.isEmpty() || name.length() > NAME_MAX || clusterSize < 8192 || clusterSize % 4096 != 0) {
            throw SimError.invalid();
        }
        if (base == null) {
            throw SimError.noDevice();
        }
        if (base.claimed()) {
            throw new SimError(-1, "Operation not permitted"); // §6 (seen): base bdev already claimed
        }
        for (SimLvstore other : lvstores.values()) {
            if (other.name.equals(name)) {
                throw SimError.exists(); // not in spdk-rpc.md: duplicate lvs name, synchronous -EEXIST
            }
        }
        long deviceClusters = base.numBlocks() * base.blockSize / clusterSize;
        long data = deviceClusters - SimLvstore.metadataClusters(deviceClusters, clusterSize);
        if (data <= 0) {
            throw SimError.async("No space left on device"); // not in spdk-rpc.md
        }
        SimLvstore store = new SimLvstore(UUID.randomUUID().toString(), name, base, clusterSize, data);
        lvstores.put(store.uuid, store);
        base.claimedBy = store;
        images.write(store);
        return TextNode.valueOf(store.uuid);
    }

    /** Selects stores by {@code uuid} or {@code lvs_name}; no params means all, {@code {}} is -22 (§6, seen). */
    private List<SimLvstore> selectStores(JsonNode params, String uuidKey) {
        if (params == null || params.isNull()) {
            return new ArrayList<>(lvstores.values());
        }
        SimParams p = SimParams.of(params, uuidKey, "lvs_name");
        if (p.has(uuidKey) == p.has("lvs_name")) {
            throw SimError.invalid();
        }
        SimLvstore found = p.has(uuidKey) ? lvstores.get(p.string(uuidKey)) : lvstores.values().stream()
                .filter(s -> s.name.equals(p.string("lvs_name"))).findFirst().orElse(null);
        if (found == null) {
            throw SimError.noDevice();
        }
        return List.of(found);
    }

    private JsonNode getLvstores(JsonNode params) {
        ArrayNode list = mapper.createArrayNode();
        for (SimLvstore s : selectStores(params, "uuid")) {
            list.addObject().put("uuid", s.uuid).put("name", s.name).put("base_bdev", s.base.name)
                    .put("total_data_clusters", s.totalDataClusters).put("free_clusters", s.freeClusters())
                    .put("block_size", s.base.blockSize).put("cluster_size", s.clusterSize);
        }
        return list;
    }

    private JsonNode deleteLvstore(JsonNode params) throws IOException {
        if (params == null || params.isNull()) {
            throw SimError.decode();
        }
        SimLvstore store = selectStores(params, "uuid").get(0);
        for (SimLvol lvol : store.lvols.values()) {
            SimBdev gone = bdevs.remove(lvol.uuid); // deleting the store destroys every lvol (§6, seen)
            if (gone != null) {
                vhost.bdevRemoved(gone);
            }
            LvolData.delete(store, lvol);
        }
        lvstores.remove(store.uuid);
        store.base.claimedBy = null;
        images.wipe(store.base.backing);
        return BooleanNode.TRUE;
    }

    // --- lvols --------------------------------------------------------------------------------

    private SimBdev lvolBdev(String name) {
        SimBdev bdev = lookup(name);
        if (bdev == null || bdev.lvol == null) {
            throw SimError.noDevice();
        }
        return bdev;
    }

    private static long clustersFor(long mib, long clusterSize) {
        return (mib * MIB + clusterSize - 1) / clusterSize;
    }

    private JsonNode createLvol(JsonNode params) throws IOException {
        SimParams p = SimParams.of(params, "lvol_name", "size_in_mib", "uuid", "lvs_name", "thin_provision",
                "clear_method");
        String name = p.string("lvol_name");
        long mib = p.number("size_in_mib");
        boolean thin = p.bool("thin_provision", false);
        if (p.has("uuid") == p.has("lvs_name")) {
            throw SimError.invalid(); // exactly one of uuid / lvs_name (§6)
        }
        SimLvstore store = p.has("uuid") ? lvstores.get(p.string("uuid"))
                : lvstores.values().stream().filter(s -> s.name.equals(p.string("lvs_name"))).findFirst().orElse(null);
        if (store == null) {
            throw SimError.noDevice(); // unknown lvs -> -19 (§6, seen)
        }
        if (name.isEmpty() || name.length() > NAME_MAX || mib < 0) {
            throw SimError.invalid();
        }
        if (store.byName(name) != null) {
            throw SimError.exists(); // duplicate lvol name on create -> -17 (§2, seen)
        }
        long clusters = clustersFor(mib, store.clusterSize); // rounded up to a whole cluster (§6)
        if (!thin && clusters > store.freeClusters()) {
            throw SimError.async("No space left on device"); // thick lvol too big (§6, seen)
        }
        SimLvol lvol = new SimLvol(UUID.randomUUID().toString(), name, clusters, thin);
        if (!thin) {
            lvol.allocated.set(0, (int) clusters);
        }
        store.lvols.put(lvol.uuid, lvol);
        SimBdev bdev = SimBdev.lvol(store, lvol);
        bdevs.put(bdev.name, bdev);
        images.write(store);
        return TextNode.valueOf(lvol.uuid);
    }

    private JsonNode getLvols(JsonNode params) {
        ArrayNode list = mapper.createArrayNode();
        for (SimLvstore s : selectStores(params, "lvs_uuid")) {
            for (SimLvol l : s.lvols.values()) {
                ObjectNode o = list.addObject().put("alias", s.name + "/" + l.name).put("uuid", l.uuid)
                        .put("name", l.name).put("is_thin_provisioned", l.thin).put("is_snapshot", l.snapshot)
                        .put("is_clone", l.parent != null).put("is_esnap_clone", false).put("is_degraded", false)
                        .put("num_allocated_clusters", l.allocatedClusters());
                o.putObject("lvs").put("name", s.name).put("uuid", s.uuid);
            }
        }
        return list;
    }

    private void checkNewName(SimLvstore store, String name) {
        if (name.isEmpty() || name.length() > NAME_MAX) {
            throw SimError.async("Invalid argument");
        }
        if (store.byName(name) != null) {
            throw SimError.async("File exists"); // duplicate on snapshot/rename -> -32602 (§2, seen)
        }
    }

    private JsonNode snapshot(JsonNode params) throws IOException {
        SimParams p = SimParams.of(params, "lvol_name", "snapshot_name");
        SimBdev origin = lvolBdev(p.string("lvol_name"));
        String name = p.string("snapshot_name");
        checkNewName(origin.lvstore, name);
        if (origin.lvol.readOnly) {
            // Not in spdk-rpc.md: the blobstore refuses to snapshot a read-only blob (EINVAL, async).
            throw SimError.async("Invalid argument");
        }
        SimLvol o = origin.lvol;
        SimLvol snap = new SimLvol(UUID.randomUUID().toString(), name, o.numClusters, o.thin);
        snap.readOnly = true;
        snap.snapshot = true;
        snap.parent = o.parent;
        snap.allocated = o.allocated;
        // The origin becomes a thin clone of the new read-only snapshot (§6, seen).
        o.allocated = new BitSet();
        o.parent = snap;
        o.thin = true;
        origin.lvstore.lvols.put(snap.uuid, snap);
        LvolData.copy(origin.lvstore, o, snap);
        SimBdev bdev = SimBdev.lvol(origin.lvstore, snap);
        bdevs.put(bdev.name, bdev);
        images.write(origin.lvstore);
        return TextNode.valueOf(snap.uuid);
    }

    private JsonNode cloneLvol(JsonNode params) throws IOException {
        SimParams p = SimParams.of(params, "snapshot_name", "clone_name");
        SimBdev source = lvolBdev(p.string("snapshot_name"));
        String name = p.string("clone_name");
        if (!source.lvol.readOnly) {
            throw SimError.async("Invalid argument"); // clone of a writable lvol (§6, seen)
        }
        checkNewName(source.lvstore, name);
        source.lvol.snapshot = true; // cloning a read-only lvol turns it into a snapshot (§6, seen)
        SimLvol clone = new SimLvol(UUID.randomUUID().toString(), name, source.lvol.numClusters, true);
        clone.parent = source.lvol;
        source.lvstore.lvols.put(clone.uuid, clone);
        LvolData.copy(source.lvstore, source.lvol, clone);
        SimBdev bdev = SimBdev.lvol(source.lvstore, clone);
        bdevs.put(bdev.name, bdev);
        images.write(source.lvstore);
        return TextNode.valueOf(clone.uuid);
    }

    private JsonNode resize(JsonNode params) throws IOException {
        SimParams p = SimParams.of(params, "name", "size_in_mib");
        SimBdev bdev = lvolBdev(p.string("name"));
        SimLvol lvol = bdev.lvol;
        if (lvol.readOnly) {
            throw SimError.async("Operation not permitted"); // not in spdk-rpc.md
        }
        long clusters = clustersFor(p.number("size_in_mib"), bdev.lvstore.clusterSize);
        if (clusters < lvol.numClusters) {
            lvol.allocated.clear((int) clusters, (int) lvol.numClusters); // shrinking works too (§6, seen)
        } else if (!lvol.thin) {
            long more = clusters - lvol.numClusters;
            if (more > bdev.lvstore.freeClusters()) {
                throw SimError.async("No space left on device");
            }
            lvol.allocated.set((int) lvol.numClusters, (int) clusters);
        }
        lvol.numClusters = clusters;
        if (lvol.seen != null) {
            LvolData.resize(bdev.lvstore, lvol, LvolData.fileOf(bdev.lvstore, lvol));
        }
        images.write(bdev.lvstore);
        return BooleanNode.TRUE;
    }

    private JsonNode setReadOnly(JsonNode params) throws IOException {
        SimBdev bdev = lvolBdev(SimParams.of(params, "name").string("name"));
        bdev.lvol.readOnly = true;
        images.write(bdev.lvstore);
        return BooleanNode.TRUE;
    }

    private JsonNode rename(JsonNode params) throws IOException {
        SimParams p = SimParams.of(params, "old_name", "new_name");
        SimBdev bdev = lvolBdev(p.string("old_name"));
        String name = p.string("new_name");
        checkNewName(bdev.lvstore, name);
        bdev.lvol.name = name;
        bdev.aliases.clear();
        bdev.aliases.add(bdev.lvstore.name + "/" + name); // uuid and bdev name stay (§6)
        images.write(bdev.lvstore);
        return BooleanNode.TRUE;
    }

    private JsonNode deleteLvol(JsonNode params) throws IOException {
        SimBdev bdev = lvolBdev(SimParams.of(params, "name").string("name"));
        SimLvstore store = bdev.lvstore;
        SimLvol lvol = bdev.lvol;
        List<SimLvol> clones = store.clonesOf(lvol);
        if (clones.size() >= 2) {
            throw new SimError(-32603, "Operation not permitted"); // §6 (seen): snapshot with two clones
        }
        if (clones.size() == 1) {
            // One clone: the snapshot is merged into it (§6, seen); the clone takes over its clusters.
            SimLvol child = clones.get(0);
            BitSet inherited = (BitSet) lvol.allocated.clone();
            inherited.andNot(child.allocated);
            child.allocated.or(inherited);
            child.parent = lvol.parent;
        }
        store.lvols.remove(lvol.uuid);
        bdevs.remove(bdev.name);
        vhost.bdevRemoved(bdev);
        LvolData.delete(store, lvol);
        images.write(store);
        return BooleanNode.TRUE;
    }

    /** decouple_parent copies what the parents hold; inflate also allocates the rest (§6). */
    private JsonNode decouple(JsonNode params, boolean inflate) throws IOException {
        SimBdev bdev = lvolBdev(SimParams.of(params, "name").string("name"));
        SimLvol lvol = bdev.lvol;
        if (lvol.parent == null && !inflate) {
            throw SimError.async("Invalid argument"); // not in spdk-rpc.md
        }
        BitSet wanted = new BitSet();
        if (inflate) {
            wanted.set(0, (int) lvol.numClusters);
        } else {
            for (SimLvol p = lvol.parent; p != null; p = p.parent) {
                wanted.or(p.allocated);
            }
            wanted.clear((int) lvol.numClusters, Math.max((int) lvol.numClusters, wanted.length()));
        }
        wanted.andNot(lvol.allocated);
        if (wanted.cardinality() > bdev.lvstore.freeClusters()) {
            throw SimError.async("No space left on device");
        }
        lvol.allocated.or(wanted);
        lvol.parent = null;
        if (inflate) {
            lvol.thin = false;
        }
        images.write(bdev.lvstore);
        return BooleanNode.TRUE;
    }

    private interface IoSupplier<T> {
        T get() throws IOException;
    }

    private static <T> T uncheck(IoSupplier<T> supplier) {
        try {
            return supplier.get();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
