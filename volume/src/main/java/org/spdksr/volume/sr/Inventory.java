package org.spdksr.volume.sr;

import java.io.IOException;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.plugin.idl.Volume;
import org.spdksr.plugin.idl.VolumeType;
import org.spdksr.volume.metadata.VolumeRecord;
import org.spdksr.volume.store.StoredVolume;

/**
 * Joins what the back end holds with what the metadata says. The back end is the source of truth
 * for which volumes exist (ARCHITECTURE.md §4): a volume without a row gets one with a default
 * name, a row without a volume is dropped. Runs under the SR lock.
 */
final class Inventory {
    private static final Logger LOG = LoggerFactory.getLogger(Inventory.class);

    private Inventory() {}

    static List<Volume> reconcile(OpenSr sr) throws IOException, SQLException {
        rollBackPending(sr);
        Map<String, StoredVolume> stored = sr.site().volumes().list();
        List<Volume> volumes = new ArrayList<>();
        for (VolumeRecord record : sr.metadata().volumes()) {
            StoredVolume volume = stored.remove(record.key());
            if (volume == null) {
                LOG.warn("SR {}: volume {} ({}) has metadata but no data in {}; dropping its metadata",
                        sr.record().uuid(), record.key(), record.name(), sr.site().describe());
                sr.metadata().delete(record.key());
            } else {
                volumes.add(view(sr, record, volume));
            }
        }
        for (StoredVolume orphan : stored.values()) {
            volumes.add(view(sr, adopt(sr, orphan), orphan));
        }
        volumes.sort(java.util.Comparator.comparing(Volume::key));
        return volumes;
    }

    /** The volume under {@code key}, reconciled the same way, or empty if the back end lacks it. */
    static Optional<Volume> find(OpenSr sr, String key) throws IOException, SQLException {
        rollBackPending(sr);
        Optional<StoredVolume> stored = sr.site().volumes().find(key);
        Optional<VolumeRecord> record = sr.metadata().volume(key);
        if (stored.isEmpty()) {
            if (record.isPresent()) {
                LOG.warn("SR {}: volume {} has metadata but no data; dropping its metadata", sr.record().uuid(), key);
                sr.metadata().delete(key);
            }
            return Optional.empty();
        }
        VolumeRecord row = record.isPresent() ? record.get() : adopt(sr, stored.get());
        return Optional.of(view(sr, row, stored.get()));
    }

    /**
     * Destroys what killed calls began to make (VolumeOperations records each new volume as
     * pending before its data). Under the SR lock no live call can own a pending entry, so each
     * one belongs to a process that died; the call never answered, so xapi knows no such VDI.
     */
    static void rollBackPending(OpenSr sr) throws IOException, SQLException {
        for (Map.Entry<String, String> pending : sr.metadata().pendingVolumes().entrySet()) {
            LOG.warn("SR {}: {} of volume {} did not complete (the process was killed?); removing what it made",
                    sr.record().uuid(), pending.getValue(), pending.getKey());
            rollBack(sr, pending.getKey(), pending.getValue());
        }
    }

    /** Removes the data of one pending volume, then the entry: safe to repeat if interrupted. */
    static void rollBack(OpenSr sr, String key, String operation) throws IOException, SQLException {
        sr.site().volumes().destroy(key);
        sr.metadata().abandonVolume(key);
        LOG.info("SR {}: removed volume {} of the unfinished {}", sr.record().uuid(), key, operation);
    }

    private static VolumeRecord adopt(OpenSr sr, StoredVolume orphan) throws SQLException {
        String uuid = uuidOf(orphan.key());
        VolumeRecord record = new VolumeRecord(orphan.key(), uuid, "unrecorded volume " + orphan.key(),
                "found in the SR without metadata (the call that made it was interrupted, or it was copied in)",
                false, orphan.readOnly(), null, Map.of());
        LOG.warn("SR {}: volume {} has data but no metadata; recording it as '{}'",
                sr.record().uuid(), orphan.key(), record.name());
        sr.metadata().insert(record);
        return record;
    }

    /** Our keys are volume uuids; keep that identity when a row has to be rebuilt. */
    private static String uuidOf(String key) {
        try {
            return UUID.fromString(key).toString();
        } catch (IllegalArgumentException e) {
            return UUID.randomUUID().toString();
        }
    }

    static Volume view(OpenSr sr, VolumeRecord record, StoredVolume stored) {
        String uri = sr.site().volumes().uri(sr.record().uuid(), record.key(), record.readOnly()).format();
        return new Volume(record.key(), record.uuid(), record.name(), record.description(), !record.readOnly(),
                record.sharable(), stored.virtualSize(), stored.physicalUtilisation(), List.of(uri), record.keys(),
                VolumeType.DATA, false);
    }
}
