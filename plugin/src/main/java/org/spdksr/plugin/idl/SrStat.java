package org.spdksr.plugin.idl;

import java.util.List;

/**
 * {@code sr_stat} (smapiv3.md §4.1). {@code uuid} is the only optional field; {@code null} leaves it
 * off the wire, as rpclib wants for a None option.
 */
public record SrStat(
        String sr,
        String name,
        String uuid,
        String description,
        long freeSpace,
        long totalSpace,
        List<String> datasources,
        boolean clustered,
        Health health) {

    public SrStat {
        datasources = List.copyOf(datasources);
    }
}
