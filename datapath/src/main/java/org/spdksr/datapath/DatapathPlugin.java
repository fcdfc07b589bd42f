package org.spdksr.datapath;

import static org.spdksr.plugin.protocol.Param.bool;
import static org.spdksr.plugin.protocol.Param.string;

import java.util.List;
import java.util.Map;
import org.spdksr.plugin.idl.QueryResult;
import org.spdksr.plugin.idl.VolumeUri;
import org.spdksr.plugin.protocol.Handler;
import org.spdksr.plugin.protocol.MethodSpec;
import org.spdksr.plugin.protocol.MethodTable;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;

/**
 * The datapath plugin for URIs of scheme {@code spdk-sr} (smapiv3.md §2.5, §4.6). Registration
 * ({@code Plugin.Query}) works now; attaching a volume to a guest needs blkifd, which is not in
 * this build yet, so those methods answer {@code Unimplemented} with a message saying so.
 */
public final class DatapathPlugin {
    /** The datapath directory name is the URI scheme it serves. */
    public static final String DIRECTORY = VolumeUri.SCHEME;

    private final String version;

    public DatapathPlugin(String version) {
        this.version = version;
    }

    public QueryResult query() {
        return new QueryResult(DIRECTORY, "spdk-sr datapath",
                "Serves spdk-sr volumes to guests through blkifd, a per-VM userspace Xen block backend",
                "spdk-sr project", "Copyright (C) the spdk-sr authors", version, "5.0", List.of(), Map.of(), List.of());
    }

    public MethodTable methods() {
        MethodTable table = new MethodTable();
        table.add(MethodSpec.of("Plugin.Query"), a -> query());
        table.add(MethodSpec.of("Plugin.diagnostics"), a -> "spdk-sr datapath plugin " + version);
        for (String method : List.of("Datapath.attach", "Datapath.activate", "Datapath.deactivate", "Datapath.detach")) {
            table.add(MethodSpec.of(method, string("uri"), string("domain")), notYet(method));
        }
        table.add(MethodSpec.of("Datapath.open", string("uri"), bool("persistent")), notYet("Datapath.open"));
        table.add(MethodSpec.of("Datapath.close", string("uri")), notYet("Datapath.close"));
        return table;
    }

    private static Handler notYet(String method) {
        return a -> {
            throw new SmapiException(new StorageError.Unimplemented(method), method + " of " + a.string("uri")
                    + ": this spdk-sr build has no block backend yet, so its volumes cannot be attached to a VM. "
                    + "Install an spdk-sr release that includes blkifd.");
        };
    }
}
