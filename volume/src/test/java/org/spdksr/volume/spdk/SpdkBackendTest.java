package org.spdksr.volume.spdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.plugin.idl.ProbeResult;
import org.spdksr.plugin.idl.Volume;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.spdk.Lvol;
import org.spdksr.plugin.spdk.SavedConfig;
import org.spdksr.plugin.spdk.SpdkClient;
import org.spdksr.plugin.spdk.SpdkClientSettings;
import org.spdksr.plugin.spdk.sim.SpdkSimulator;
import org.spdksr.volume.VolumePlugin;
import org.spdksr.volume.sr.Backends;
import org.spdksr.volume.sr.SrAccess;
import org.spdksr.volume.sr.SrLock;
import org.spdksr.volume.sr.SrOperations;
import org.spdksr.volume.sr.VolumeOperations;

/** What only the spdk back end has: its failures, thin accounting, restarts, NVMe, the saved config. */
class SpdkBackendTest {
    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;

    @TempDir
    Path dir;

    private SpdkSimulator sim;
    private SpdkClient client;
    private Path socket;
    private Path disk;
    private Path state;
    private SrOperations srs;
    private VolumeOperations volumes;
    private final String srUuid = UUID.randomUUID().toString();

    @BeforeEach
    void start() throws Exception {
        socket = dir.resolve("spdk.sock");
        disk = sparseFile("disk.img", GIB);
        state = dir.resolve("state");
        sim = SpdkSimulator.start(socket);
        client = new SpdkClient(settings(socket, Duration.ofSeconds(5)));
        Backends backends = backends(state, Duration.ofSeconds(5));
        SrAccess access = new SrAccess(new SrLock());
        srs = new SrOperations(backends, access);
        volumes = new VolumeOperations(backends, access);
    }

    @AfterEach
    void stop() throws Exception {
        client.close();
        sim.close();
    }

    private static SpdkClientSettings settings(Path socket, Duration connect) {
        return new SpdkClientSettings(socket, connect, Duration.ofMillis(20), Duration.ofSeconds(30));
    }

    private static Backends backends(Path state, Duration connect) {
        return new Backends(List.of(new SpdkBackend(new SpdkBackendSettings(state, s -> settings(s, connect)))));
    }

    private Path sparseFile(String name, long size) throws Exception {
        Path file = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(size);
        }
        return file;
    }

    private Map<String, String> config(Path device) {
        return Map.of("aio_path", device.toString(), "spdk_socket", socket.toString());
    }

    private String createSr() throws Exception {
        return srs.attach(srs.create(srUuid, config(disk), "sr", ""));
    }

    private static String params(SmapiException e) {
        return String.join("|", e.toRecord().params());
    }

    private String lvs() {
        return "spdksr-" + srUuid;
    }

    @Test
    void spdkTgtDownTellsTheAdministratorWhatToDo() throws Exception {
        String sr = createSr();
        sim.close();
        SrAccess access = new SrAccess(new SrLock());
        Backends quick = backends(state, Duration.ZERO);
        VolumeOperations impatient = new VolumeOperations(quick, access);
        assertThatThrownBy(() -> impatient.create(sr, "v", "", MIB, false))
                .isInstanceOfSatisfying(SmapiException.class, e -> {
                    assertThat(params(e)).startsWith("SPDK_not_running|");
                    assertThat(e.getMessage()).contains("spdk_tgt is not running", socket.toString(),
                            "systemctl start spdk-sr-tgt");
                });
        assertThatThrownBy(() -> new SrOperations(quick, access).attach(config(disk)))
                .hasMessageContaining("spdk_tgt is not running");
        // SR.stat answers Unreachable rather than failing: xapi retries that (smapiv3.md §3.4).
        assertThat(new SrOperations(quick, access).stat(sr).health())
                .isInstanceOfSatisfying(org.spdksr.plugin.idl.Health.Unreachable.class,
                        h -> assertThat(h.message()).contains("spdk_tgt is not running"));
        new SrOperations(quick, access).detach(sr); // nothing held when spdk_tgt is gone: detach still succeeds
    }

    @Test
    void aSizeThatOverflowsIsAClearError() throws Exception {
        String sr = createSr();
        assertThatThrownBy(() -> volumes.create(sr, "huge", "", Long.MAX_VALUE - 4096, false))
                .isInstanceOfSatisfying(SmapiException.class, e -> assertThat(params(e)).startsWith("VDI_too_large|"))
                .hasMessageContaining("smaller size");
        assertThat(srs.ls(sr)).isEmpty();
    }

    @Test
    void aClaimedDeviceIsReportedAsInUse() throws Exception {
        Path other = sparseFile("claimed.img", GIB);
        String bdev = new SpdkDevice.Aio(other).bdevName();
        client.aioCreate(bdev, other);
        sim.claimByOtherModule(bdev); // e.g. a raid or passthru bdev sits on it
        assertThatThrownBy(() -> srs.create(srUuid, config(other), "sr", ""))
                .isInstanceOfSatisfying(SmapiException.class, e -> {
                    assertThat(params(e)).startsWith("Device_in_use|" + other);
                    assertThat(e.getMessage()).contains("claimed", "Operation not permitted", other.toString());
                });
        assertThat(state.resolve(srUuid)).doesNotExist();
    }

    @Test
    void aForeignLvstoreIsNotOverwritten() throws Exception {
        Path other = sparseFile("foreign.img", GIB);
        String bdev = new SpdkDevice.Aio(other).bdevName();
        client.aioCreate(bdev, other);
        client.createLvstore(bdev, "somebody-elses", java.util.OptionalLong.empty());
        assertThatThrownBy(() -> srs.create(srUuid, config(other), "sr", ""))
                .isInstanceOfSatisfying(SmapiException.class, e -> assertThat(params(e)).startsWith("SR_exists|"))
                .hasMessageContaining("somebody-elses");
    }

    @Test
    void aFullLvstoreRefusesNewVolumesAndStatShowsIt() throws Exception {
        String sr = createSr();
        Volume big = volumes.create(sr, "big", "", GIB, false);
        sim.write(lvs() + "/" + big.key(), 0, 255 * 4 * MIB); // every data cluster of 1 GiB (spdk-rpc.md §6)
        assertThat(srs.stat(sr).freeSpace()).isZero();
        assertThat(volumes.stat(sr, big.key()).physicalUtilisation()).isEqualTo(255 * 4 * MIB);
        assertThatThrownBy(() -> volumes.create(sr, "more", "", MIB, false))
                .isInstanceOfSatisfying(SmapiException.class, e -> {
                    assertThat(params(e)).startsWith("SR_full|");
                    assertThat(e.getMessage()).contains("is full", lvs());
                });
        assertThatThrownBy(() -> volumes.clone(sr, big.key())).hasMessageContaining("is full");
        volumes.destroy(sr, big.key());
        assertThat(srs.stat(sr).freeSpace()).isEqualTo(255 * 4 * MIB);
    }

    @Test
    void aNameThatExistsIsReportedAsSuch() throws Exception {
        createSr();
        var store = new SpdkBackend(new SpdkBackendSettings(state, s -> settings(s, Duration.ofSeconds(5))))
                .site(Map.of("aio_path", disk.toString(), "spdk_socket", socket.toString(), "sr_uuid", srUuid))
                .volumes();
        store.create("dup", 4 * MIB);
        assertThatThrownBy(() -> store.create("dup", 4 * MIB))
                .isInstanceOfSatisfying(SmapiException.class, e -> {
                    assertThat(params(e)).startsWith("Name_exists|dup|");
                    assertThat(e.getMessage()).contains("already exists", "File exists");
                });
    }

    @Test
    void snapshotMovesTheDataAndClonesOfWritableVolumesGoThroughAHiddenSnapshot() throws Exception {
        String sr = createSr();
        Volume v = volumes.create(sr, "disk", "", 64 * MIB, false);
        sim.write(lvs() + "/" + v.key(), 0, 8 * MIB);
        assertThat(volumes.stat(sr, v.key()).physicalUtilisation()).isEqualTo(8 * MIB);
        Volume snap = volumes.snapshot(sr, v.key());
        // The source runs on as a thin clone of the new snapshot, which holds the data (§6).
        assertThat(snap.physicalUtilisation()).isEqualTo(8 * MIB);
        assertThat(volumes.stat(sr, v.key()).physicalUtilisation()).isZero();
        Volume clone = volumes.clone(sr, v.key());
        List<Lvol> lvols = client.lvols(client.lvstoreByName(lvs()).orElseThrow().uuid());
        assertThat(lvols).extracting(Lvol::name).contains("_base-" + clone.key());
        assertThat(srs.ls(sr)).extracting(Volume::key).containsExactlyInAnyOrder(v.key(), snap.key(), clone.key());
        volumes.destroy(sr, clone.key());
        srs.ls(sr);
        assertThat(client.lvols(client.lvstoreByName(lvs()).orElseThrow().uuid())).extracting(Lvol::name)
                .containsExactlyInAnyOrder(v.key(), snap.key());
    }

    @Test
    void theSavedConfigFollowsAttachAndDetachAndBringsTheSrBackAfterARestart() throws Exception {
        String sr = createSr();
        Volume v = volumes.create(sr, "disk", "", 64 * MIB, false);
        volumes.snapshot(sr, v.key());
        Path saved = new SpdkBackendSettings(state, s -> settings(s, Duration.ofSeconds(5))).savedConfigFor(socket);
        SavedConfig config = new SavedConfig(new com.fasterxml.jackson.databind.ObjectMapper().readTree(saved.toFile()));
        assertThat(config.methodsOf("bdev")).containsSubsequence("bdev_aio_create", "bdev_wait_for_examine");
        assertThat(Files.readString(saved)).contains(disk.toString());

        // spdk_tgt restarts with its saved config (the systemd unit): the volumes are simply there.
        client.close();
        sim.close();
        sim = SpdkSimulator.start(socket, saved);
        client = new SpdkClient(settings(socket, Duration.ofSeconds(5)));
        assertThat(srs.ls(sr)).hasSize(2);

        // Restarted without it: SR.stat says the SR must be re-plugged; SR.attach brings it back.
        client.close();
        sim.close();
        sim = SpdkSimulator.start(socket);
        client = new SpdkClient(settings(socket, Duration.ofSeconds(5)));
        assertThatThrownBy(() -> srs.stat(sr)).hasMessageContaining("xe pbd-plug");
        srs.attach(Map.of("aio_path", disk.toString(), "spdk_socket", socket.toString(), "sr_uuid", srUuid));
        assertThat(srs.ls(sr)).extracting(Volume::key).contains(v.key());

        srs.detach(sr);
        assertThat(client.bdevs()).isEmpty();
        assertThat(Files.readString(saved)).doesNotContain(disk.toString());
    }

    @Test
    void anNvmeDriveByPciAddress() throws Exception {
        Path drive = sparseFile("nvme0.img", GIB);
        sim.addPciDevice("0000:01:00.0", drive);
        Map<String, String> nvme = Map.of("nvme_pci", "0000:01:00.0", "spdk_socket", socket.toString(),
                "cluster_size", Long.toString(MIB));
        Map<String, String> stored = srs.create(srUuid, nvme, "fast", "");
        assertThat(stored).containsEntry("nvme_pci", "0000:01:00.0").containsEntry("cluster_size", "1048576");
        String sr = srs.attach(stored);
        assertThat(client.lvstoreByName(lvs()).orElseThrow().baseBdev()).isEqualTo("spdksr_0000_01_00_0n1");
        assertThat(volumes.create(sr, "v", "", 1, false).virtualSize()).isEqualTo(MIB);
        assertThat(client.nvmeControllers()).singleElement()
                .satisfies(c -> assertThat(c.traddr()).isEqualTo("0000:01:00.0"));
        assertThatThrownBy(() -> srs.create(UUID.randomUUID().toString(),
                Map.of("nvme_pci", "01:00.0", "spdk_socket", socket.toString()), "", ""))
                .hasMessageContaining("PCI address like 0000:01:00.0");
    }

    @Test
    void probeFindsTheSrOnTheDeviceWithoutThisHostsMetadata() throws Exception {
        createSr();
        srs.detach(srs.attach(config(disk))); // the device is not attached while probing
        SrOperations otherHost = new SrOperations(backends(dir.resolve("other-state"), Duration.ofSeconds(5)),
                new SrAccess(new SrLock()));
        List<ProbeResult> found = otherHost.probe(config(disk));
        assertThat(found).singleElement().satisfies(r -> {
            assertThat(r.complete()).isTrue();
            assertThat(r.configuration()).containsEntry("sr_uuid", srUuid).containsEntry("aio_path", disk.toString());
            assertThat(r.sr().uuid()).isEqualTo(srUuid);
            assertThat(r.sr().totalSpace()).isEqualTo(255 * 4 * MIB);
        });
        assertThat(client.bdevs()).isEmpty(); // probing attached the device only to look
    }

    @Test
    void attachAfterTheHostLostItsMetadataAdoptsTheSrFromTheDevice() throws Exception {
        String sr = createSr();
        Volume v = volumes.create(sr, "disk", "", 8 * MIB, false);
        Volume snap = volumes.snapshot(sr, v.key());
        Map<String, String> pbd = Map.of("aio_path", disk.toString(), "spdk_socket", socket.toString(),
                "sr_uuid", srUuid);
        // dom0 reinstalled: /var/lib/spdk-sr is empty, spdk_tgt starts without a config
        try (var files = Files.walk(state)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        client.close();
        sim.close();
        sim = SpdkSimulator.start(socket);
        client = new SpdkClient(settings(socket, Duration.ofSeconds(5)));
        assertThat(srs.attach(pbd)).isEqualTo(sr);
        assertThat(srs.stat(sr).uuid()).isEqualTo(srUuid);
        List<Volume> listed = srs.ls(sr);
        assertThat(listed).extracting(Volume::key).containsExactlyInAnyOrder(v.key(), snap.key());
        assertThat(listed).filteredOn(x -> x.key().equals(snap.key())).singleElement()
                .satisfies(x -> assertThat(x.readWrite()).isFalse()); // a snapshot stays read-only
        // a PBD naming another SR is still refused
        assertThatThrownBy(() -> srs.attach(Map.of("aio_path", disk.toString(), "spdk_socket", socket.toString(),
                "sr_uuid", UUID.randomUUID().toString()))).isInstanceOf(SmapiException.class);
    }

    @Test
    void queryAdvertisesTheSpdkDeviceConfigKeys() {
        assertThat(VolumePlugin.withDefaultBackends("test").query().configuration())
                .containsKeys("path", "nvme_pci", "aio_path", "spdk_socket", "cluster_size", "sr_uuid");
    }

    @Test
    void badDeviceConfigsAreRefusedWithTheKeyToFix() {
        assertThatThrownBy(() -> srs.create(srUuid, Map.of("aio_path", "relative.img"), "", ""))
                .hasMessageContaining("absolute");
        assertThatThrownBy(() -> srs.create(srUuid, Map.of("aio_path", dir.resolve("missing.img").toString()), "", ""))
                .hasMessageContaining("does not exist");
        assertThatThrownBy(() -> srs.create(srUuid, Map.of("aio_path", disk.toString(), "nvme_pci", "0000:01:00.0"),
                "", "")).hasMessageContaining("exactly one");
        assertThatThrownBy(() -> srs.create(srUuid, Map.of("aio_path", disk.toString(), "cluster_size", "1000"), "", ""))
                .hasMessageContaining("power of two");
    }
}
