package org.spdksr.volume.spdk;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.plugin.idl.VolumeUri;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;
import org.spdksr.plugin.spdk.Bdev;
import org.spdksr.plugin.spdk.Lvol;
import org.spdksr.plugin.spdk.Lvstore;
import org.spdksr.plugin.spdk.SpdkClient;
import org.spdksr.plugin.spdk.SpdkErrorKind;
import org.spdksr.plugin.spdk.SpdkRpcException;
import org.spdksr.volume.store.CrashPoints;
import org.spdksr.volume.store.SiteUnreachableException;
import org.spdksr.volume.store.Space;
import org.spdksr.volume.store.StoredVolume;
import org.spdksr.volume.store.VolumeKeys;
import org.spdksr.volume.store.VolumeStore;

/**
 * Volumes as thin lvols named by their key in the SR's lvstore. Lvols spdk-sr needs but must not
 * show get names no key can have (a leading {@code _}, see {@link VolumeKeys}):
 * <ul>
 *   <li>{@code _base-<clone key>}: the snapshot a writable volume is cloned through, because SPDK
 *       clones only snapshots and read-only lvols (spdk-rpc.md §6);
 *   <li>{@code _gone-<key>}: a destroyed snapshot SPDK cannot delete yet because two or more
 *       clones still read from it (-32603 Operation not permitted, §6).
 * </ul>
 * Both are deleted as soon as SPDK allows it, i.e. once at most one clone is left, which the
 * delete merges the snapshot into (§6). Callers hold the SR lock.
 */
final class SpdkVolumeStore implements VolumeStore {
    private static final Logger LOG = LoggerFactory.getLogger(SpdkVolumeStore.class);
    private static final long MIB = 1L << 20;
    static final String HIDDEN = "_";
    static final String BASE = "_base-";
    static final String GONE = "_gone-";

    private final SpdkCalls calls;
    private final String lvsName;
    private final String srHandle;
    private final CrashPoints crashPoints;
    private Lvstore lvstore;

    SpdkVolumeStore(SpdkCalls calls, String lvsName, String srHandle, CrashPoints crashPoints) {
        this.calls = calls;
        this.lvsName = lvsName;
        this.srHandle = srHandle;
        this.crashPoints = crashPoints;
    }

    private String alias(String name) {
        return lvsName + "/" + name;
    }

    /** The lvstore, looked up once per operation object; fails clearly if spdk_tgt lost it. */
    private Lvstore lvstore(SpdkClient client) throws SpdkRpcException {
        if (lvstore == null) {
            lvstore = client.lvstoreByName(lvsName).orElseThrow(() -> new SmapiException(
                    new StorageError.SrNotAttached(srHandle), "spdk_tgt on " + calls.socket() + " has no lvstore "
                    + lvsName + ": the base device is not attached (spdk_tgt restarted without its saved "
                    + "configuration?). Re-plug the SR with xe pbd-plug."));
        }
        return lvstore;
    }

    /** Sizes are whole clusters (SPDK rounds up, §6) and whole MiB (the RPCs take MiB); never zero. */
    private long unit(SpdkClient client) throws SpdkRpcException {
        return Math.max(lvstore(client).clusterSize(), MIB);
    }

    @Override
    public long roundUp(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative size " + bytes);
        }
        long unit;
        try {
            unit = calls.run("read the cluster size of lvstore " + lvsName, srHandle, this::unit);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long units = Math.max(1, bytes / unit + (bytes % unit == 0 ? 0 : 1));
        // bdev_lvol_create takes MiB in a uint64; keep bytes within a long as well.
        if (units > Long.MAX_VALUE / unit) {
            throw new SmapiException(new StorageError.BackendFailure("SR_BACKEND_FAILURE", "VDI_too_large", srHandle),
                    "A volume of " + bytes + " bytes cannot be made in lvstore " + lvsName + ": the size overflows. "
                            + "Choose a smaller size.");
        }
        return units * unit;
    }

    @Override
    public StoredVolume create(String key, long size) throws IOException {
        return calls.run("create volume " + key + " in lvstore " + lvsName, key, client -> {
            refuseWhenFull(client, "create volume " + key);
            client.createLvol(lvstore(client).uuid(), key, size / MIB, true);
            return stored(client, key);
        });
    }

    @Override
    public StoredVolume resize(String key, long newSize) throws IOException {
        return calls.run("resize volume " + key + " in lvstore " + lvsName, key, client -> {
            client.resize(alias(key), newSize / MIB);
            return stored(client, key);
        });
    }

    /**
     * The source keeps running as a thin clone of the new read-only snapshot (§6). A read-only
     * source cannot be snapshotted that way; its copy is a clone of it made read-only, which
     * shares its data just the same.
     */
    @Override
    public StoredVolume snapshot(String sourceKey, String targetKey) throws IOException {
        return calls.run("snapshot volume " + sourceKey + " in lvstore " + lvsName, sourceKey, client -> {
            // bdev_lvol_clone succeeds only on a read-only source and answers a writable one with
            // -32602 Invalid argument (§6, seen), which tells the two cases apart.
            if (cloneIfReadOnly(client, sourceKey, targetKey)) {
                crashPoints.reached("spdk: clone made, still writable");
                client.setReadOnly(alias(targetKey));
            } else {
                client.snapshot(alias(sourceKey), targetKey);
            }
            return stored(client, targetKey);
        });
    }

    /** A clone of a snapshot directly; of a writable volume, through a hidden snapshot of it. */
    @Override
    public StoredVolume clone(String sourceKey, String targetKey) throws IOException {
        return calls.run("clone volume " + sourceKey + " in lvstore " + lvsName, sourceKey, client -> {
            refuseWhenFull(client, "clone volume " + sourceKey);
            if (!cloneIfReadOnly(client, sourceKey, targetKey)) {
                String base = BASE + targetKey;
                client.snapshot(alias(sourceKey), base);
                crashPoints.reached("spdk: hidden base snapshot made");
                client.clone(alias(base), targetKey);
            }
            return stored(client, targetKey);
        });
    }

    private boolean cloneIfReadOnly(SpdkClient client, String sourceKey, String targetKey) throws SpdkRpcException {
        try {
            client.clone(alias(sourceKey), targetKey);
            return true;
        } catch (SpdkRpcException e) {
            if (e.kind() == SpdkErrorKind.INVALID_ARGUMENT) {
                return false;
            }
            throw e;
        }
    }

    /**
     * Thin lvols may over-commit the store (§6), but a volume made when no cluster is free could
     * not take a single write: refuse it with a message rather than fail the guest's I/O later.
     */
    private void refuseWhenFull(SpdkClient client, String doing) throws SpdkRpcException {
        Lvstore store = client.lvstoreByName(lvsName).orElseGet(() -> null);
        if (store == null) {
            store = lvstore(client);
        }
        if (store.freeClusters() == 0) {
            throw new SmapiException(new StorageError.BackendFailure("SR_BACKEND_FAILURE", "SR_full", srHandle),
                    "Cannot " + doing + ": lvstore " + lvsName + " is full (0 of " + store.totalDataClusters()
                            + " clusters of " + store.clusterSize() + " bytes free). Destroy volumes or snapshots "
                            + "you no longer need, then retry.");
        }
    }

    @Override
    public boolean destroy(String key) throws IOException {
        return calls.run("destroy volume " + key + " in lvstore " + lvsName, key, client -> {
            try {
                client.delete(alias(key));
            } catch (SpdkRpcException e) {
                if (e.kind() == SpdkErrorKind.NOT_FOUND) {
                    return false;
                }
                if (e.kind() != SpdkErrorKind.NOT_PERMITTED) {
                    throw e;
                }
                // A snapshot two or more clones still read from (§6): hide it until they are gone.
                client.rename(alias(key), GONE + key);
                LOG.info("lvol {} still has clones; hidden as {} until at most one is left", alias(key), GONE + key);
            }
            crashPoints.reached("spdk: lvol deleted or hidden");
            collectHidden(client);
            return true;
        });
    }

    /** Deletes every hidden lvol SPDK now lets go: one with at most one clone left (§6). */
    private void collectHidden(SpdkClient client) throws SpdkRpcException {
        for (Lvol lvol : client.lvols(lvstore(client).uuid())) {
            if (!lvol.name().startsWith(HIDDEN)) {
                continue;
            }
            try {
                client.delete(lvol.uuid());
                LOG.info("deleted hidden lvol {}", lvol.alias());
            } catch (SpdkRpcException e) {
                if (e.kind() != SpdkErrorKind.NOT_PERMITTED && e.kind() != SpdkErrorKind.NOT_FOUND) {
                    throw e;
                }
            }
        }
    }

    @Override
    public Optional<StoredVolume> find(String key) throws IOException {
        return calls.run("look up volume " + key + " in lvstore " + lvsName, key, client -> {
            Optional<Bdev> bdev = client.bdev(alias(key));
            if (bdev.isEmpty() || bdev.get().lvol() == null) {
                return Optional.empty();
            }
            return Optional.of(storedOf(client, key, bdev.get()));
        });
    }

    /** Every visible lvol; hidden ones that can go are deleted first (leftovers included). */
    @Override
    public Map<String, StoredVolume> list() throws IOException {
        return calls.run("list the volumes of lvstore " + lvsName, srHandle, client -> {
            collectHidden(client);
            // bdev_lvol_get_lvols has no size, bdev_get_bdevs has it: join on the lvol uuid (the bdev name, §5).
            Map<String, Bdev> bdevs = new HashMap<>();
            for (Bdev bdev : client.bdevs()) {
                bdevs.put(bdev.name(), bdev);
            }
            Map<String, StoredVolume> volumes = new TreeMap<>();
            for (Lvol lvol : client.lvols(lvstore(client).uuid())) {
                if (lvol.name().startsWith(HIDDEN)) {
                    continue;
                }
                if (!VolumeKeys.isValid(lvol.name())) {
                    LOG.warn("ignoring lvol {}: its name is not a valid volume key", lvol.alias());
                    continue;
                }
                Bdev bdev = bdevs.get(lvol.uuid());
                if (bdev == null) {
                    LOG.warn("lvol {} has no bdev (degraded: {}); not listed", lvol.alias(), lvol.degraded());
                    continue;
                }
                volumes.put(lvol.name(), storedOf(client, lvol.name(), bdev));
            }
            return volumes;
        });
    }

    @Override
    public Space space() throws IOException {
        try {
            return calls.run("read the space of lvstore " + lvsName, srHandle, client -> {
                Lvstore store = client.lvstoreByName(lvsName).orElseGet(() -> null);
                return store == null ? spaceOf(lvstore(client)) : spaceOf(store);
            });
        } catch (SmapiException e) {
            if (e.getCause() instanceof SpdkRpcException rpc && (rpc.kind() == SpdkErrorKind.NOT_RUNNING
                    || rpc.kind() == SpdkErrorKind.TIMEOUT)) {
                throw new SiteUnreachableException(e.getMessage(), e);
            }
            throw e;
        }
    }

    private static Space spaceOf(Lvstore store) {
        return new Space(store.totalBytes(), store.freeBytes());
    }

    @Override
    public VolumeUri uri(String srUuid, String key, boolean readOnly) {
        return new VolumeUri.SpdkLvol(calls.socket(), lvsName, key, srUuid, key, readOnly);
    }

    private StoredVolume stored(SpdkClient client, String key) throws SpdkRpcException {
        Bdev bdev = client.bdev(alias(key)).orElseThrow(() -> new SmapiException(
                new StorageError.VolumeDoesNotExist(key), "lvol " + alias(key) + " vanished right after it was "
                + "made; check journalctl -u spdk-sr-tgt"));
        return storedOf(client, key, bdev);
    }

    private StoredVolume storedOf(SpdkClient client, String key, Bdev bdev) throws SpdkRpcException {
        long allocated = bdev.lvol() == null ? 0 : bdev.lvol().allocatedClusters();
        boolean snapshot = bdev.lvol() != null && bdev.lvol().snapshot();
        return new StoredVolume(key, bdev.sizeBytes(), allocated * lvstore(client).clusterSize(), snapshot);
    }
}
