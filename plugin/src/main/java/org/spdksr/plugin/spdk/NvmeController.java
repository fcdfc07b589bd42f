package org.spdksr.plugin.spdk;

/** One controller of {@code bdev_nvme_get_controllers}: its name and where it was attached from. */
public record NvmeController(String name, String trtype, String traddr) {}
