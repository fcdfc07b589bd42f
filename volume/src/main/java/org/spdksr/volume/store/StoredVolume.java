package org.spdksr.volume.store;

/**
 * What a back end knows of a volume: that it exists, its size seen by the guest, the space it
 * uses, and whether the data itself is read-only (an SPDK snapshot is), which decides how a
 * volume found without metadata is recorded.
 */
public record StoredVolume(String key, long virtualSize, long physicalUtilisation, boolean readOnly) {

    /** A writable volume (every file back-end volume). */
    public StoredVolume(String key, long virtualSize, long physicalUtilisation) {
        this(key, virtualSize, physicalUtilisation, false);
    }
}
