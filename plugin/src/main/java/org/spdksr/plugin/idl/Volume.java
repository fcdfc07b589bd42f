package org.spdksr.plugin.idl;

import java.util.List;
import java.util.Map;

/**
 * The IDL {@code volume} record (smapiv3.md §4.1). {@code volumeType} and {@code cbtEnabled} are
 * options: {@code null} omits them. {@code keys} must always be returned, because
 * xapi-storage-script keeps VDI attributes in it (smapiv3.md §5).
 */
public record Volume(
        String key,
        String uuid,
        String name,
        String description,
        boolean readWrite,
        boolean sharable,
        long virtualSize,
        long physicalUtilisation,
        List<String> uri,
        Map<String, String> keys,
        VolumeType volumeType,
        Boolean cbtEnabled) {

    public Volume {
        uri = List.copyOf(uri);
        keys = Map.copyOf(keys);
    }
}
