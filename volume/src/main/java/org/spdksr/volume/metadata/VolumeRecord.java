package org.spdksr.volume.metadata;

import java.util.Map;

/**
 * What the metadata store keeps of one volume. {@code parentKey} names the volume it was
 * snapshotted or cloned from, or is {@code null}; {@code keys} is the opaque map xapi writes
 * through Volume.set (smapiv3.md §5) and must come back byte for byte.
 */
public record VolumeRecord(
        String key,
        String uuid,
        String name,
        String description,
        boolean sharable,
        boolean readOnly,
        String parentKey,
        Map<String, String> keys) {

    public VolumeRecord {
        keys = Map.copyOf(keys);
    }

    public VolumeRecord withName(String newName) {
        return new VolumeRecord(key, uuid, newName, description, sharable, readOnly, parentKey, keys);
    }
}
