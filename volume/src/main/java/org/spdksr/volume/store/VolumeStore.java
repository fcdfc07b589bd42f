package org.spdksr.volume.store;

import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import org.spdksr.plugin.idl.VolumeUri;

/**
 * The data side of one SR: where volumes live and how their bytes are made, copied and freed.
 * Callers hold the SR lock; implementations need no locking of their own. Keys are already
 * validated ({@link VolumeKeys}).
 */
public interface VolumeStore {

    /** The size a request for {@code bytes} is rounded up to (a volume may be bigger than asked). */
    long roundUp(long bytes);

    StoredVolume create(String key, long size) throws IOException;

    /** Grows the volume; callers have refused a shrink already. */
    StoredVolume resize(String key, long newSize) throws IOException;

    /** A point-in-time copy of {@code sourceKey}, to become a read-only snapshot. */
    StoredVolume snapshot(String sourceKey, String targetKey) throws IOException;

    /** A writable copy of {@code sourceKey} (a volume or a snapshot). */
    StoredVolume clone(String sourceKey, String targetKey) throws IOException;

    /** @return false if there was nothing to destroy */
    boolean destroy(String key) throws IOException;

    Optional<StoredVolume> find(String key) throws IOException;

    /** Every volume the back end holds, by key. Leftovers of interrupted operations are cleared. */
    Map<String, StoredVolume> list() throws IOException;

    Space space() throws IOException;

    VolumeUri uri(String srUuid, String key, boolean readOnly);
}
