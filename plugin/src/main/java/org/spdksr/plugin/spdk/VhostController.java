package org.spdksr.plugin.spdk;

import java.nio.file.Path;

/**
 * One vhost-user-blk controller of {@code vhost_get_controllers} (spdk-rpc.md §6, export paths):
 * its name, the server socket spdk_tgt listens on ({@code <-S dir>/<ctrlr>}), the bdev it exports
 * (SPDK reports the bdev's name, which for an lvol is its uuid) and whether it refuses writes.
 *
 * @param sessions how many initiators are connected; SPDK refuses to delete a controller with one
 */
public record VhostController(String name, Path socket, String bdev, boolean readOnly, int sessions) {}
