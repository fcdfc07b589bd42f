package org.spdksr.datapath;

import static org.spdksr.plugin.protocol.Param.bool;
import static org.spdksr.plugin.protocol.Param.string;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.spdksr.datapath.attach.Attachments;
import org.spdksr.plugin.idl.QueryResult;
import org.spdksr.plugin.idl.VolumeUri;
import org.spdksr.plugin.protocol.MethodSpec;
import org.spdksr.plugin.protocol.MethodTable;

/**
 * The datapath plugin for URIs of scheme {@code spdk-sr} (smapiv3.md §2.5, §4.6): attaches volumes
 * to domains through blkifd, one process per domain ({@link Attachments}).
 */
public final class DatapathPlugin {
    /** The datapath directory name is the URI scheme it serves. */
    public static final String DIRECTORY = VolumeUri.SCHEME;
    /** Datapath.open/close discard a reset-on-boot disk's writes without a clone (§8). */
    public static final String NONPERSISTENT = "NONPERSISTENT";

    private final String version;
    private final Supplier<Attachments> attachments;

    public DatapathPlugin(String version) {
        this(version, Attachments::fromEnvironment);
    }

    /** @param attachments made on first use, so Plugin.Query needs no run directory */
    public DatapathPlugin(String version, Supplier<Attachments> attachments) {
        this.version = version;
        this.attachments = attachments;
    }

    public QueryResult query() {
        return new QueryResult(DIRECTORY, "spdk-sr datapath",
                "Serves spdk-sr volumes to guests through blkifd, a per-VM userspace Xen block backend",
                "spdk-sr project", "Copyright (C) the spdk-sr authors", version, "5.0", List.of(NONPERSISTENT),
                Map.of(), List.of());
    }

    public MethodTable methods() {
        MethodTable table = new MethodTable();
        table.add(MethodSpec.of("Plugin.Query"), a -> query());
        table.add(MethodSpec.of("Plugin.diagnostics"), a -> "spdk-sr datapath plugin " + version);
        table.add(MethodSpec.of("Datapath.attach", string("uri"), string("domain")),
                a -> attachments.get().attach(a.string("uri"), a.string("domain")));
        table.add(MethodSpec.of("Datapath.activate", string("uri"), string("domain")), a -> {
            attachments.get().activate(a.string("uri"), a.string("domain"), false);
            return null;
        });
        table.add(MethodSpec.of("Datapath.activate_readonly", string("uri"), string("domain")), a -> {
            attachments.get().activate(a.string("uri"), a.string("domain"), true);
            return null;
        });
        table.add(MethodSpec.of("Datapath.deactivate", string("uri"), string("domain")), a -> {
            attachments.get().deactivate(a.string("uri"), a.string("domain"));
            return null;
        });
        table.add(MethodSpec.of("Datapath.detach", string("uri"), string("domain")), a -> {
            attachments.get().detach(a.string("uri"), a.string("domain"));
            return null;
        });
        table.add(MethodSpec.of("Datapath.open", string("uri"), bool("persistent")), a -> {
            attachments.get().open(a.string("uri"), a.bool("persistent"));
            return null;
        });
        table.add(MethodSpec.of("Datapath.close", string("uri")), a -> {
            attachments.get().close(a.string("uri"));
            return null;
        });
        return table;
    }
}
