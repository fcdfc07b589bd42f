package org.spdksr.plugin.spdk;

/** One entry of {@code bdev_lvol_get_lvols} (spdk-rpc.md §6). {@code alias} is {@code lvs/name}. */
public record Lvol(String alias, String uuid, String name, boolean thinProvisioned, boolean snapshot, boolean isClone,
        boolean degraded, long allocatedClusters, String lvsName, String lvsUuid) {}
