package org.spdksr.plugin.spdk.sim;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A registered bdev: an aio file, an NVMe namespace (both with a backing file), or an lvol. */
final class SimBdev {
    enum Kind { AIO, NVME, LVOL }

    final String name;
    final String uuid;
    final List<String> aliases = new ArrayList<>();
    final Kind kind;
    final long blockSize;
    final Path backing;
    /** The controller an NVMe namespace belongs to. */
    final String controller;
    /** Set for an lvol bdev. */
    final SimLvol lvol;
    final SimLvstore lvstore;
    /** Claimed by a module other than lvol (a test hook stands for raid, passthru, ...). */
    boolean claimedByOther;
    /** The lvstore loaded from or created on this bdev. */
    SimLvstore claimedBy;

    private SimBdev(String name, String uuid, Kind kind, long blockSize, Path backing, String controller, SimLvol lvol,
            SimLvstore lvstore) {
        this.name = name;
        this.uuid = uuid;
        this.kind = kind;
        this.blockSize = blockSize;
        this.backing = backing;
        this.controller = controller;
        this.lvol = lvol;
        this.lvstore = lvstore;
    }

    static SimBdev device(String name, String uuid, Kind kind, long blockSize, Path backing, String controller) {
        return new SimBdev(name, uuid, kind, blockSize, backing, controller, null, null);
    }

    /** An lvol's bdev is named by its uuid with the alias {@code lvs/lvol} (spdk-rpc.md §5). */
    static SimBdev lvol(SimLvstore lvstore, SimLvol lvol) {
        SimBdev bdev = new SimBdev(lvol.uuid, lvol.uuid, Kind.LVOL, lvstore.base.blockSize, null, null, lvol, lvstore);
        bdev.aliases.add(lvstore.name + "/" + lvol.name);
        return bdev;
    }

    boolean claimed() {
        return claimedByOther || claimedBy != null;
    }

    long numBlocks() throws java.io.IOException {
        if (kind == Kind.LVOL) {
            return lvol.numClusters * lvstore.clusterSize / blockSize;
        }
        return java.nio.file.Files.size(backing) / blockSize;
    }
}
