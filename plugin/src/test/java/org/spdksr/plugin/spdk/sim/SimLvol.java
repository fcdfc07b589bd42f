package org.spdksr.plugin.spdk.sim;

import java.util.BitSet;

/**
 * One lvol: a blob of {@code numClusters} clusters of which {@code allocated} are backed by this
 * lvol itself; reads of the others fall through to {@code parent} (spdk-rpc.md §5: snapshot and
 * clone relations and thin flags are blob metadata).
 */
final class SimLvol {
    final String uuid;
    String name;
    long numClusters;
    boolean thin;
    boolean readOnly;
    boolean snapshot;
    SimLvol parent;
    BitSet allocated = new BitSet();
    /** Clusters of the lvol's data file that held data at the last look; null without a file ({@link LvolData}). */
    BitSet seen;

    SimLvol(String uuid, String name, long numClusters, boolean thin) {
        this.uuid = uuid;
        this.name = name;
        this.numClusters = numClusters;
        this.thin = thin;
    }

    long allocatedClusters() {
        return allocated.cardinality();
    }
}
