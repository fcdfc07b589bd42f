package org.spdksr.plugin.spdk;

import java.util.List;

/**
 * A bdev as {@code bdev_get_bdevs} shows it (spdk-rpc.md §6). For an lvol, {@code name} is its
 * uuid, {@code aliases} holds {@code lvs/lvol} and {@code lvol} is set; otherwise {@code lvol} is null.
 */
public record Bdev(String name, List<String> aliases, String uuid, String productName, long blockSize, long numBlocks,
        boolean claimed, LvolDetails lvol) {

    public Bdev {
        aliases = List.copyOf(aliases);
    }

    public long sizeBytes() {
        return blockSize * numBlocks;
    }

    /** {@code driver_specific.lvol} of an lvol bdev. */
    public record LvolDetails(String lvolStoreUuid, String baseBdev, boolean thinProvision, long allocatedClusters,
            boolean snapshot, boolean isClone) {}
}
