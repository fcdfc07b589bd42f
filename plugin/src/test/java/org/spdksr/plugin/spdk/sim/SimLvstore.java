package org.spdksr.plugin.spdk.sim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** An lvstore: a blobstore on one base bdev, with its clusters and lvols (spdk-rpc.md §5). */
final class SimLvstore {
    final String uuid;
    String name;
    final SimBdev base;
    final long clusterSize;
    final long totalDataClusters;
    final Map<String, SimLvol> lvols = new LinkedHashMap<>();

    SimLvstore(String uuid, String name, SimBdev base, long clusterSize, long totalDataClusters) {
        this.uuid = uuid;
        this.name = name;
        this.base = base;
        this.clusterSize = clusterSize;
        this.totalDataClusters = totalDataClusters;
    }

    long freeClusters() {
        long used = 0;
        for (SimLvol lvol : lvols.values()) {
            used += lvol.allocatedClusters();
        }
        return totalDataClusters - used;
    }

    SimLvol byName(String name) {
        for (SimLvol lvol : lvols.values()) {
            if (lvol.name.equals(name)) {
                return lvol;
            }
        }
        return null;
    }

    List<SimLvol> clonesOf(SimLvol snapshot) {
        List<SimLvol> clones = new ArrayList<>();
        for (SimLvol lvol : lvols.values()) {
            if (lvol.parent == snapshot) {
                clones.add(lvol);
            }
        }
        return clones;
    }

    /**
     * Metadata clusters at the front of the device. With the default ratio of 100 one 4 KiB page
     * per cluster, plus the super block: a 1 GiB device with 4 MiB clusters keeps 255 data
     * clusters, as seen on spdk_tgt (spdk-rpc.md §6). Other sizes are an approximation.
     */
    static long metadataClusters(long deviceClusters, long clusterSize) {
        long bytes = 4096 + 4096 * deviceClusters;
        return (bytes + clusterSize - 1) / clusterSize;
    }
}
