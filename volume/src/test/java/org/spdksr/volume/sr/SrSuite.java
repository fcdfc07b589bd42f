package org.spdksr.volume.sr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.spdksr.plugin.idl.ProbeResult;
import org.spdksr.plugin.idl.Volume;
import org.spdksr.plugin.idl.VolumeUri;
import org.spdksr.plugin.protocol.SmapiException;

/**
 * The SR and volume semantics every back end must have, in process, on real files, sockets and
 * SQLite. Each back end runs this same suite through a subclass that supplies its devices and
 * the few checks only it can make.
 */
abstract class SrSuite {
    protected static final long GIB = 1L << 30;

    protected SrOperations srs;
    protected VolumeOperations volumes;
    protected String sr;
    protected final String srUuid = UUID.randomUUID().toString();

    // --- what a back end supplies -------------------------------------------------------------

    /** Starts whatever the back end needs (a simulator, directories) and returns its back ends. */
    protected abstract Backends start() throws Exception;

    protected void stop() throws Exception {}

    /** The device-config an administrator gives xe sr-create for the SR under test. */
    protected abstract Map<String, String> deviceConfig();

    /** A device-config naming a second device that holds nothing. */
    protected abstract Map<String, String> emptyDeviceConfig() throws Exception;

    /** Checks that nothing was left on the empty device (or in spdk_tgt, or on this host). */
    protected abstract void assertNoTraceOnEmptyDevice() throws Exception;

    /** The size a request is rounded up to. */
    protected abstract long expectedSize(long requested);

    /** Checks the volume's URI names its data. */
    protected abstract void checkUri(Volume volume, VolumeUri uri) throws Exception;

    /** Removes a volume's data behind the plugin's back. */
    protected abstract void deleteDataBehindTheBack(Volume volume) throws Exception;

    /** Makes a volume without metadata behind the plugin's back; returns its key. */
    protected abstract String createOrphan(long size) throws Exception;

    /** Leaves what an interrupted operation would leave; {@link #assertLeftoverCleared} checks it went. */
    protected abstract void leaveLeftover(Volume someVolume) throws Exception;

    protected abstract void assertLeftoverCleared() throws Exception;

    /** Checks the SR's data and metadata are still there. */
    protected abstract void assertSrIntact() throws Exception;

    /** Checks SR.destroy removed everything it created, and nothing else. */
    protected abstract void assertDestroyed() throws Exception;

    /** How many volumes the back end itself holds (visible ones). */
    protected abstract long storedVolumeCount() throws Exception;

    /** Something only the administrator owns, made before destroy, that must survive it. */
    protected void leaveAdminFiles() throws Exception {}

    // --- the suite ----------------------------------------------------------------------------

    @BeforeEach
    void createSr() throws Exception {
        Backends backends = start();
        SrAccess access = new SrAccess(new SrLock());
        srs = new SrOperations(backends, access);
        volumes = new VolumeOperations(backends, access);
        Map<String, String> config = srs.create(srUuid, deviceConfig(), "sr", "test sr");
        assertThat(config).containsEntry("sr_uuid", srUuid);
        sr = srs.attach(config);
    }

    @AfterEach
    void stopBackend() throws Exception {
        stop();
    }

    protected static String params(SmapiException e) {
        return String.join("|", e.toRecord().params());
    }

    private Map<String, String> with(Map<String, String> config, String key, String value) {
        Map<String, String> copy = new HashMap<>(config);
        copy.put(key, value);
        return copy;
    }

    @Test
    void attachIsIdempotentAndChecksTheSrUuid() throws Exception {
        assertThat(srs.attach(deviceConfig())).isEqualTo(sr);
        assertThat(srs.attach(with(deviceConfig(), "sr_uuid", srUuid))).isEqualTo(sr);
        assertThat(srs.stat(sr).uuid()).isEqualTo(srUuid);
        assertThatThrownBy(() -> srs.attach(with(deviceConfig(), "sr_uuid", UUID.randomUUID().toString())))
                .isInstanceOfSatisfying(SmapiException.class, e -> assertThat(params(e)).startsWith("SR_does_not_exist|"));
    }

    @Test
    void detachThenAttachAgain() throws Exception {
        Volume v = volumes.create(sr, "disk", "", 1 << 20, false);
        srs.detach(sr);
        srs.detach(sr); // idempotent
        srs.detach("spdk:///nowhere/" + UUID.randomUUID()); // unknown SR: nothing to do
        assertThat(srs.attach(deviceConfig())).isEqualTo(sr);
        assertThat(srs.ls(sr)).extracting(Volume::key).containsExactly(v.key());
    }

    @Test
    void secondSrOnTheSameDeviceIsRefusedButARetriedCreateIsNot() throws Exception {
        assertThat(srs.create(srUuid, deviceConfig(), "sr", "")).containsEntry("sr_uuid", srUuid);
        assertThatThrownBy(() -> srs.create(UUID.randomUUID().toString(), deviceConfig(), "x", ""))
                .isInstanceOfSatisfying(SmapiException.class, e -> assertThat(params(e)).startsWith("SR_exists|"))
                .hasMessageContaining(srUuid);
    }

    @Test
    void unknownDeviceConfigKeysAreRefusedByName() throws Exception {
        Map<String, String> config = with(emptyDeviceConfig(), "pth", "x");
        assertThatThrownBy(() -> srs.create(UUID.randomUUID().toString(), config, "", ""))
                .isInstanceOfSatisfying(SmapiException.class, e -> assertThat(params(e)).startsWith("Invalid_arguments|"))
                .hasMessageContaining("pth");
    }

    @Test
    void probeTellsWhetherADeviceHoldsAnSr() throws Exception {
        List<ProbeResult> found = srs.probe(deviceConfig());
        assertThat(found).singleElement().satisfies(r -> {
            assertThat(r.sr().uuid()).isEqualTo(srUuid);
            assertThat(r.sr().name()).isEqualTo("sr");
            assertThat(r.complete()).isTrue();
            assertThat(r.configuration()).containsEntry("sr_uuid", srUuid);
        });
        List<ProbeResult> none = srs.probe(emptyDeviceConfig());
        assertThat(none).singleElement().satisfies(r -> {
            assertThat(r.sr()).isNull();
            assertThat(r.complete()).isTrue();
            assertThat(r.configuration()).doesNotContainKey("sr_uuid");
        });
        assertNoTraceOnEmptyDevice(); // probing must not leave anything behind
    }

    @Test
    void volumeLifecycle() throws Exception {
        Volume v = volumes.create(sr, "disk", "a disk", 10 * GIB + 1, false);
        assertThat(v.virtualSize()).isEqualTo(expectedSize(10 * GIB + 1)).isGreaterThan(10 * GIB);
        assertThat(v.readWrite()).isTrue();
        assertThat(v.physicalUtilisation()).isZero();
        VolumeUri uri = VolumeUri.parse(v.uri().get(0));
        assertThat(uri.readOnly()).isFalse();
        assertThat(uri.key()).isEqualTo(v.key());
        assertThat(uri.srUuid()).isEqualTo(srUuid);
        checkUri(v, uri);

        volumes.set(sr, v.key(), "vdi-type", "user");
        volumes.setName(sr, v.key(), "renamed");
        volumes.setDescription(sr, v.key(), "described");
        volumes.resize(sr, v.key(), 20 * GIB);
        Volume after = volumes.stat(sr, v.key());
        assertThat(after.name()).isEqualTo("renamed");
        assertThat(after.description()).isEqualTo("described");
        assertThat(after.keys()).isEqualTo(Map.of("vdi-type", "user"));
        assertThat(after.virtualSize()).isEqualTo(20 * GIB);

        assertThatThrownBy(() -> volumes.resize(sr, v.key(), GIB))
                .isInstanceOfSatisfying(SmapiException.class, e -> {
                    assertThat(e.toRecord().code()).isEqualTo("SR_BACKEND_FAILURE_79");
                    assertThat(params(e)).startsWith("VDI Invalid size|" + v.key() + "|");
                });

        volumes.destroy(sr, v.key());
        volumes.destroy(sr, v.key()); // idempotent
        assertThat(srs.ls(sr)).isEmpty();
        assertThatThrownBy(() -> volumes.stat(sr, v.key()))
                .isInstanceOfSatisfying(SmapiException.class, e -> assertThat(params(e)).startsWith("Volume_does_not_exist|"));
    }

    @Test
    void snapshotIsReadOnlyAndCloneIsWritable() throws Exception {
        Volume v = volumes.create(sr, "disk", "", 64 << 20, false);
        Volume snap = volumes.snapshot(sr, v.key());
        assertThat(snap.readWrite()).isFalse();
        assertThat(snap.virtualSize()).isEqualTo(v.virtualSize());
        assertThat(VolumeUri.parse(snap.uri().get(0)).readOnly()).isTrue();
        Volume clone = volumes.clone(sr, snap.key());
        assertThat(clone.readWrite()).isTrue();
        Volume cloneOfWritable = volumes.clone(sr, v.key());
        assertThat(cloneOfWritable.readWrite()).isTrue();
        Volume snapOfSnap = volumes.snapshot(sr, snap.key());
        assertThat(snapOfSnap.readWrite()).isFalse();

        assertThatThrownBy(() -> volumes.resize(sr, snap.key(), 128 << 20)).hasMessageContaining("read-only");
        assertThat(srs.ls(sr)).extracting(Volume::key).containsExactlyInAnyOrder(v.key(), snap.key(), clone.key(),
                cloneOfWritable.key(), snapOfSnap.key());
    }

    @Test
    void snapshotsWithClonesCanBeDestroyedInAnyOrder() throws Exception {
        Volume v = volumes.create(sr, "disk", "", 64 << 20, false);
        Volume snap = volumes.snapshot(sr, v.key());
        Volume c1 = volumes.clone(sr, snap.key());
        Volume c2 = volumes.clone(sr, snap.key());
        volumes.destroy(sr, snap.key()); // three volumes still read from it
        assertThat(srs.ls(sr)).extracting(Volume::key).containsExactlyInAnyOrder(v.key(), c1.key(), c2.key());
        volumes.destroy(sr, c1.key());
        volumes.destroy(sr, v.key());
        assertThat(srs.ls(sr)).extracting(Volume::key).containsExactly(c2.key());
        volumes.destroy(sr, c2.key());
        assertThat(srs.ls(sr)).isEmpty();
        assertThat(storedVolumeCount()).isZero();
    }

    @Test
    void lsReconcilesDataAndRows() throws Exception {
        Volume kept = volumes.create(sr, "kept", "", 4096, false);
        Volume lost = volumes.create(sr, "lost", "", 4096, false);
        deleteDataBehindTheBack(lost);
        String orphanKey = createOrphan(8192);
        leaveLeftover(kept);

        List<Volume> listed = srs.ls(sr);
        assertThat(listed).extracting(Volume::key).containsExactlyInAnyOrder(kept.key(), orphanKey);
        Volume orphan = listed.stream().filter(x -> x.key().equals(orphanKey)).findFirst().orElseThrow();
        assertThat(orphan.uuid()).isEqualTo(orphanKey);
        assertThat(orphan.name()).contains(orphanKey);
        assertLeftoverCleared();
        assertThat(srs.ls(sr)).isEqualTo(listed); // stable once reconciled
    }

    @Test
    void hostileKeysNeverReachTheBackEnd() throws Exception {
        for (String key : List.of("../spdk-sr.db", "/etc/passwd", "", ".hidden", "a/b", "_gone-x")) {
            assertThatThrownBy(() -> volumes.stat(sr, key))
                    .isInstanceOfSatisfying(SmapiException.class, e -> assertThat(params(e)).startsWith("Volume_does_not_exist|"));
            volumes.destroy(sr, key);
        }
        assertSrIntact();
    }

    @Test
    void destroyRemovesEverythingTheSrCreated() throws Exception {
        volumes.create(sr, "a", "", 1 << 20, false);
        leaveAdminFiles();
        srs.destroy(sr);
        srs.destroy(sr); // idempotent
        assertDestroyed();
        assertThatThrownBy(() -> srs.stat(sr))
                .isInstanceOfSatisfying(SmapiException.class, e -> assertThat(params(e)).startsWith("SR_does_not_exist|"));
    }

    @Test
    void parallelCallsInOneProcessKeepTheSrConsistent() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        Set<String> created = ConcurrentHashMap.newKeySet();
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            int n = i;
            futures.add(pool.submit(() -> {
                Volume v = volumes.create(sr, "v" + n, "", 1 << 20, false);
                volumes.set(sr, v.key(), "n", Integer.toString(n));
                if (n % 3 == 0) {
                    created.add(volumes.snapshot(sr, v.key()).key());
                }
                if (n % 4 == 0) {
                    volumes.destroy(sr, v.key());
                } else {
                    created.add(v.key());
                }
                srs.ls(sr);
                return null;
            }));
        }
        for (Future<?> f : futures) {
            f.get();
        }
        pool.shutdown();
        List<Volume> listed = srs.ls(sr);
        assertThat(listed).extracting(Volume::key).containsExactlyInAnyOrderElementsOf(created);
        assertThat(storedVolumeCount()).isEqualTo(created.size());
    }
}
