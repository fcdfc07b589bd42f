package org.spdksr.plugin.spdk;

/** {@code spdk_get_version} (spdk-rpc.md §3), e.g. "SPDK v25.05" 25.5.0. */
public record SpdkVersion(String version, int major, int minor, int patch) {}
