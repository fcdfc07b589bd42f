package org.spdksr.volume;

import static org.spdksr.plugin.protocol.Param.bool;
import static org.spdksr.plugin.protocol.Param.int64;
import static org.spdksr.plugin.protocol.Param.map;
import static org.spdksr.plugin.protocol.Param.string;

import java.nio.file.Path;
import java.util.List;
import org.spdksr.plugin.idl.QueryResult;
import org.spdksr.plugin.protocol.MethodSpec;
import org.spdksr.plugin.protocol.MethodTable;
import org.spdksr.volume.file.FileBackend;
import org.spdksr.volume.file.SparseFiles;
import org.spdksr.volume.sr.Backends;
import org.spdksr.volume.sr.SrAccess;
import org.spdksr.volume.sr.SrLock;
import org.spdksr.volume.sr.SrOperations;
import org.spdksr.volume.spdk.SpdkBackend;
import org.spdksr.volume.spdk.SpdkBackendSettings;
import org.spdksr.volume.sr.VolumeOperations;

/**
 * The volume plugin {@code org.xen.xapi.storage.spdk}: its methods with their IDL arguments
 * (smapiv3.md §4.3–§4.5) bound to the SR and volume operations.
 */
public final class VolumePlugin {
    /** The SR type: the last component of the plugin directory name (smapiv3.md §2.2). */
    public static final String SR_TYPE = "spdk";
    public static final String DIRECTORY = "org.xen.xapi.storage." + SR_TYPE;

    /**
     * Only what is implemented (smapiv3.md §8). xapi-storage-script adds SR_ATTACH, VDI_CREATE and
     * the like itself from the entry points present, and renames VDI_DESTROY to VDI_DELETE.
     * VDI_ACTIVATE_READONLY makes xapi send read-only VBDs to the datapath's activate_readonly
     * (smapiv3.md §4.6); without it they reach Datapath.activate, which claims the volume
     * exclusively, and a second read-only user of a snapshot is refused with VDIInUse.
     */
    static final List<String> FEATURES = List.of(
            "SR_PROBE", "SR_UPDATE", "VDI_CREATE", "VDI_DESTROY", "VDI_UPDATE", "VDI_RESIZE", "VDI_SNAPSHOT",
            "VDI_CLONE", "THIN_PROVISIONING", "LARGE_VDI", "VDI_ACTIVATE_READONLY");

    private final Backends backends;
    private final SrOperations srs;
    private final VolumeOperations volumes;
    private final String version;

    public VolumePlugin(Backends backends, String version) {
        this.backends = backends;
        SrAccess access = new SrAccess(new SrLock());
        this.srs = new SrOperations(backends, access);
        this.volumes = new VolumeOperations(backends, access);
        this.version = version;
    }

    /** Overrides where the spdk back end keeps per-SR host state (default /var/lib/spdk-sr). */
    public static final String STATE_DIR_ENV = "SPDK_SR_STATE_DIR";

    /** The plugin with every back end this build has. */
    public static VolumePlugin withDefaultBackends(String version) {
        String stateDir = System.getenv(STATE_DIR_ENV);
        SpdkBackendSettings spdk = SpdkBackendSettings.defaults(
                stateDir == null || stateDir.isEmpty() ? SpdkBackendSettings.DEFAULT_STATE_ROOT : Path.of(stateDir));
        return new VolumePlugin(new Backends(List.of(new FileBackend(new SparseFiles()), new SpdkBackend(spdk))),
                version);
    }

    public QueryResult query() {
        return new QueryResult(SR_TYPE, "spdk-sr",
                "SR on an SPDK-owned NVMe drive or a directory, served by a multi-queue userspace block backend",
                "spdk-sr project", "Copyright (C) the spdk-sr authors", version, "5.0", FEATURES,
                backends.deviceConfigKeys(), List.of());
    }

    public MethodTable methods() {
        MethodTable table = new MethodTable();
        table.add(MethodSpec.of("Plugin.Query"), a -> query());
        table.add(MethodSpec.of("Plugin.diagnostics"), a -> "spdk-sr volume plugin " + version + ", Java "
                + System.getProperty("java.version") + ", back ends " + backends.deviceConfigKeys().keySet());
        table.add(MethodSpec.of("SR.probe", map("configuration")), a -> srs.probe(a.map("configuration")));
        table.add(MethodSpec.of("SR.create", string("uuid"), map("configuration"), string("name"), string("description")),
                a -> srs.create(a.string("uuid"), a.map("configuration"), a.string("name"), a.string("description")));
        table.add(MethodSpec.of("SR.attach", map("configuration")), a -> srs.attach(a.map("configuration")));
        table.add(MethodSpec.of("SR.detach", string("sr")), a -> {
            srs.detach(a.string("sr"));
            return null;
        });
        table.add(MethodSpec.of("SR.destroy", string("sr")), a -> {
            srs.destroy(a.string("sr"));
            return null;
        });
        table.add(MethodSpec.of("SR.stat", string("sr")), a -> srs.stat(a.string("sr")));
        table.add(MethodSpec.of("SR.ls", string("sr")), a -> srs.ls(a.string("sr")));
        table.add(MethodSpec.of("SR.set_name", string("sr"), string("new_name")), a -> {
            srs.setName(a.string("sr"), a.string("new_name"));
            return null;
        });
        table.add(MethodSpec.of("SR.set_description", string("sr"), string("new_description")), a -> {
            srs.setDescription(a.string("sr"), a.string("new_description"));
            return null;
        });
        table.add(MethodSpec.of("Volume.create", string("sr"), string("name"), string("description"), int64("size"),
                        bool("sharable")),
                a -> volumes.create(a.string("sr"), a.string("name"), a.string("description"), a.int64("size"),
                        a.bool("sharable")));
        table.add(MethodSpec.of("Volume.destroy", string("sr"), string("key")), a -> {
            volumes.destroy(a.string("sr"), a.string("key"));
            return null;
        });
        table.add(MethodSpec.of("Volume.stat", string("sr"), string("key")),
                a -> volumes.stat(a.string("sr"), a.string("key")));
        table.add(MethodSpec.of("Volume.set", string("sr"), string("key"), string("k"), string("v")), a -> {
            volumes.set(a.string("sr"), a.string("key"), a.string("k"), a.string("v"));
            return null;
        });
        table.add(MethodSpec.of("Volume.unset", string("sr"), string("key"), string("k")), a -> {
            volumes.unset(a.string("sr"), a.string("key"), a.string("k"));
            return null;
        });
        table.add(MethodSpec.of("Volume.set_name", string("sr"), string("key"), string("new_name")), a -> {
            volumes.setName(a.string("sr"), a.string("key"), a.string("new_name"));
            return null;
        });
        table.add(MethodSpec.of("Volume.set_description", string("sr"), string("key"), string("new_description")), a -> {
            volumes.setDescription(a.string("sr"), a.string("key"), a.string("new_description"));
            return null;
        });
        table.add(MethodSpec.of("Volume.resize", string("sr"), string("key"), int64("new_size")), a -> {
            volumes.resize(a.string("sr"), a.string("key"), a.int64("new_size"));
            return null;
        });
        table.add(MethodSpec.of("Volume.snapshot", string("sr"), string("key")),
                a -> volumes.snapshot(a.string("sr"), a.string("key")));
        table.add(MethodSpec.of("Volume.clone", string("sr"), string("key")),
                a -> volumes.clone(a.string("sr"), a.string("key")));
        return table;
    }
}
