package org.spdksr.plugin.spdk;

/** One entry of {@code bdev_lvol_get_lvstores} (spdk-rpc.md §6); sizes in clusters and bytes. */
public record Lvstore(String uuid, String name, String baseBdev, long totalDataClusters, long freeClusters,
        long blockSize, long clusterSize) {

    public long totalBytes() {
        return totalDataClusters * clusterSize;
    }

    public long freeBytes() {
        return freeClusters * clusterSize;
    }
}
