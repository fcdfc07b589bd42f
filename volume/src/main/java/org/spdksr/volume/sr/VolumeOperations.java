package org.spdksr.volume.sr;

import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.plugin.idl.Volume;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;
import org.spdksr.volume.metadata.VolumeRecord;
import org.spdksr.volume.store.CrashPoints;
import org.spdksr.volume.store.StoredVolume;
import org.spdksr.volume.store.VolumeKeys;

/** The Volume methods of smapiv3.md §4.5 (CBT and compose excepted), on any back end. */
public final class VolumeOperations {
    private static final Logger LOG = LoggerFactory.getLogger(VolumeOperations.class);

    private final Backends backends;
    private final SrAccess access;
    private final CrashPoints crashPoints;

    public VolumeOperations(Backends backends, SrAccess access) {
        this(backends, access, CrashPoints.NONE);
    }

    public VolumeOperations(Backends backends, SrAccess access, CrashPoints crashPoints) {
        this.backends = backends;
        this.access = access;
        this.crashPoints = crashPoints;
    }

    public Volume create(String handle, String name, String description, long size, boolean sharable)
            throws Exception {
        VolumeSize.checked("Volume.create", "size", handle, size);
        return access.withSr(backends.siteOf(handle), sr -> {
            String key = UUID.randomUUID().toString();
            long rounded = sr.site().volumes().roundUp(size);
            VolumeRecord record = new VolumeRecord(key, key, name, description, sharable, false, null, Map.of());
            StoredVolume stored = made(sr, record, "Volume.create", () -> sr.site().volumes().create(key, rounded));
            LOG.info("SR {}: created volume {} '{}' of {} bytes", sr.record().uuid(), key, name, rounded);
            return Inventory.view(sr, record, stored);
        });
    }

    /** Idempotent: destroying a volume that is not there succeeds (xapi may retry). */
    public void destroy(String handle, String key) throws Exception {
        access.withSr(backends.siteOf(handle), sr -> {
            if (!VolumeKeys.isValid(key)) {
                LOG.info("SR {}: Volume.destroy of '{}', which cannot be a volume key", sr.record().uuid(), key);
                return null;
            }
            // Data first: a kill in between leaves a row without data, which the next look drops.
            boolean existed = sr.site().volumes().destroy(key);
            crashPoints.reached("Volume.destroy: data destroyed");
            sr.metadata().delete(key);
            crashPoints.reached("Volume.destroy: metadata deleted");
            LOG.info("SR {}: destroyed volume {}{}", sr.record().uuid(), key, existed ? "" : " (was already gone)");
            return null;
        });
    }

    public Volume stat(String handle, String key) throws Exception {
        return access.withSr(backends.siteOf(handle), sr -> existing(sr, key));
    }

    public void set(String handle, String key, String k, String v) throws Exception {
        access.withSr(backends.siteOf(handle), sr -> {
            existing(sr, key);
            sr.metadata().setKey(key, k, v);
            return null;
        });
    }

    public void unset(String handle, String key, String k) throws Exception {
        access.withSr(backends.siteOf(handle), sr -> {
            existing(sr, key);
            sr.metadata().unsetKey(key, k);
            return null;
        });
    }

    public void setName(String handle, String key, String name) throws Exception {
        access.withSr(backends.siteOf(handle), sr -> {
            existing(sr, key);
            sr.metadata().setName(key, name);
            return null;
        });
    }

    public void setDescription(String handle, String key, String description) throws Exception {
        access.withSr(backends.siteOf(handle), sr -> {
            existing(sr, key);
            sr.metadata().setDescription(key, description);
            return null;
        });
    }

    /** Grows only; shrinking would cut off data the guest wrote, so it is refused. */
    public void resize(String handle, String key, long newSize) throws Exception {
        access.withSr(backends.siteOf(handle), sr -> {
            Volume volume = existing(sr, key);
            if (!volume.readWrite()) {
                throw new SmapiException(new StorageError.BackendFailure("SR_BACKEND_FAILURE", "VDI_read_only", key),
                        "Volume " + key + " is a read-only snapshot and cannot be resized. Clone it and resize "
                                + "the clone.");
            }
            VolumeSize.checked("Volume.resize", "new_size", key, newSize);
            long rounded = sr.site().volumes().roundUp(newSize);
            if (rounded < volume.virtualSize()) {
                // The code and first parameter XCP-ng's own plugins use for this (smapiv3.md §3.3).
                throw new SmapiException(new StorageError.BackendFailure("SR_BACKEND_FAILURE_79", "VDI Invalid size", key),
                        "Volume " + key + " is " + volume.virtualSize() + " bytes; shrinking it to " + newSize
                                + " bytes is not allowed because it would discard data. Give a size of at least "
                                + volume.virtualSize() + " bytes.");
            }
            if (rounded > volume.virtualSize()) {
                sr.site().volumes().resize(key, rounded);
                crashPoints.reached("Volume.resize: data resized");
                LOG.info("SR {}: resized volume {} from {} to {} bytes", sr.record().uuid(), key, volume.virtualSize(),
                        rounded);
            }
            return null;
        });
    }

    /** A read-only point-in-time copy; xapi then writes the snapshot keys with Volume.set (§5). */
    public Volume snapshot(String handle, String key) throws Exception {
        return copy(handle, key, true);
    }

    /** A writable copy of a volume or of a snapshot. */
    public Volume clone(String handle, String key) throws Exception {
        return copy(handle, key, false);
    }

    private Volume copy(String handle, String key, boolean snapshot) throws Exception {
        return access.withSr(backends.siteOf(handle), sr -> {
            Volume source = existing(sr, key);
            String target = UUID.randomUUID().toString();
            VolumeRecord record = new VolumeRecord(target, target, source.name(), source.description(),
                    source.sharable(), snapshot, key, Map.of());
            StoredVolume stored = made(sr, record, snapshot ? "Volume.snapshot" : "Volume.clone", () -> snapshot
                    ? sr.site().volumes().snapshot(key, target)
                    : sr.site().volumes().clone(key, target));
            LOG.info("SR {}: {} of volume {} is {}", sr.record().uuid(), snapshot ? "snapshot" : "clone", key, target);
            return Inventory.view(sr, record, stored);
        });
    }

    @FunctionalInterface
    private interface DataStep {
        StoredVolume make() throws Exception;
    }

    /**
     * Makes a new volume crash-atomic (issue 19): the intent is committed before any data exists
     * and replaced by the volume's row in one transaction after, so a process killed in between
     * leaves a pending entry whose data the next call on the SR destroys ({@link Inventory}),
     * never a volume without its attributes.
     */
    private StoredVolume made(OpenSr sr, VolumeRecord record, String operation, DataStep data) throws Exception {
        sr.metadata().beginVolume(record.key(), operation);
        crashPoints.reached(operation + ": intent recorded");
        StoredVolume stored;
        try {
            stored = data.make();
        } catch (Exception | Error e) {
            try {
                Inventory.rollBack(sr, record.key(), operation);
            } catch (Exception cleanup) {
                e.addSuppressed(cleanup); // still pending: the next call on the SR retries the cleanup
            }
            throw e;
        }
        crashPoints.reached(operation + ": data made");
        sr.metadata().completeVolume(record);
        crashPoints.reached(operation + ": volume recorded");
        return stored;
    }

    private static Volume existing(OpenSr sr, String key) throws Exception {
        if (VolumeKeys.isValid(key)) {
            var volume = Inventory.find(sr, key);
            if (volume.isPresent()) {
                return volume.get();
            }
        }
        throw new SmapiException(new StorageError.VolumeDoesNotExist(key), "Volume '" + key + "' does not exist in SR "
                + sr.record().uuid() + " (" + sr.site().describe() + "). Run xe sr-scan to refresh the VDI list.");
    }
}
