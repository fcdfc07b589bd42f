package org.spdksr.volume.sr;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.plugin.idl.Volume;
import org.spdksr.plugin.idl.VolumeUri;
import org.spdksr.plugin.spdk.Bdev;
import org.spdksr.plugin.spdk.Lvol;
import org.spdksr.plugin.spdk.SpdkClient;
import org.spdksr.plugin.spdk.SpdkClientSettings;
import org.spdksr.plugin.spdk.sim.SpdkSimulator;
import org.spdksr.volume.file.FileBackend;
import org.spdksr.volume.file.SparseFiles;
import org.spdksr.volume.spdk.SpdkBackend;
import org.spdksr.volume.spdk.SpdkBackendSettings;

/** The shared suite on the spdk back end, against the spdk_tgt simulator on a real socket. */
class SpdkSrTest extends SrSuite {
    private static final long CLUSTER = 4L << 20;

    @TempDir
    Path dir;

    private SpdkSimulator sim;
    private SpdkClient client;
    private Path socket;
    private Path disk;
    private Path empty;
    private Path state;

    @Override
    protected Backends start() throws Exception {
        socket = dir.resolve("spdk.sock");
        disk = sparseFile("disk.img", GIB);
        empty = sparseFile("empty.img", 256L << 20);
        state = dir.resolve("state");
        sim = SpdkSimulator.start(socket);
        client = new SpdkClient(clientSettings(socket));
        SpdkBackendSettings settings = new SpdkBackendSettings(state, SpdkSrTest::clientSettings);
        // Both back ends, as in production: the device-config picks one.
        return new Backends(List.of(new FileBackend(new SparseFiles()), new SpdkBackend(settings)));
    }

    static SpdkClientSettings clientSettings(Path socket) {
        return new SpdkClientSettings(socket, Duration.ofSeconds(5), Duration.ofMillis(20), Duration.ofSeconds(30));
    }

    private Path sparseFile(String name, long size) throws Exception {
        Path file = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(size);
        }
        return file;
    }

    @Override
    protected void stop() throws Exception {
        if (client != null) {
            client.close();
        }
        if (sim != null) {
            sim.close();
        }
    }

    private String lvs() {
        return "spdksr-" + srUuid;
    }

    private String lvsUuid() throws Exception {
        return client.lvstoreByName(lvs()).orElseThrow().uuid();
    }

    @Override
    protected Map<String, String> deviceConfig() {
        return Map.of("aio_path", disk.toString(), "spdk_socket", socket.toString());
    }

    @Override
    protected Map<String, String> emptyDeviceConfig() {
        return Map.of("aio_path", empty.toString(), "spdk_socket", socket.toString());
    }

    @Override
    protected void assertNoTraceOnEmptyDevice() throws Exception {
        assertThat(client.bdevs()).filteredOn(b -> b.lvol() == null).singleElement()
                .satisfies(b -> assertThat(b.claimed()).isTrue()); // only the SR's own base bdev
        assertThat(client.lvstores()).singleElement().satisfies(l -> assertThat(l.name()).isEqualTo(lvs()));
        try (var entries = Files.list(state)) {
            assertThat(entries.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("unidentified"));
        }
    }

    @Override
    protected long expectedSize(long requested) {
        return (requested + CLUSTER - 1) / CLUSTER * CLUSTER;
    }

    @Override
    protected void checkUri(Volume volume, VolumeUri uri) throws Exception {
        assertThat(uri).isInstanceOfSatisfying(VolumeUri.SpdkLvol.class, l -> {
            assertThat(l.socket()).isEqualTo(socket);
            assertThat(l.lvstore()).isEqualTo(lvs());
            assertThat(l.lvol()).isEqualTo(volume.key());
        });
        Bdev bdev = client.bdev(((VolumeUri.SpdkLvol) uri).bdevAlias()).orElseThrow();
        assertThat(bdev.sizeBytes()).isEqualTo(volume.virtualSize());
        assertThat(bdev.lvol().thinProvision()).isTrue();
    }

    @Override
    protected void deleteDataBehindTheBack(Volume volume) throws Exception {
        client.delete(lvs() + "/" + volume.key());
    }

    @Override
    protected String createOrphan(long size) throws Exception {
        String key = UUID.randomUUID().toString();
        client.createLvol(lvsUuid(), key, 4, true);
        return key;
    }

    /** An interrupted clone of a writable volume: the hidden snapshot exists, the clone does not. */
    @Override
    protected void leaveLeftover(Volume someVolume) throws Exception {
        client.snapshot(lvs() + "/" + someVolume.key(), "_base-interrupted");
    }

    @Override
    protected void assertLeftoverCleared() throws Exception {
        assertThat(client.lvols(lvsUuid())).extracting(Lvol::name).doesNotContain("_base-interrupted");
    }

    @Override
    protected void assertSrIntact() throws Exception {
        assertThat(client.lvstoreByName(lvs())).isPresent();
        assertThat(state.resolve(srUuid).resolve("spdk-sr.db")).exists();
    }

    @Override
    protected void assertDestroyed() throws Exception {
        assertThat(client.lvstores()).isEmpty();
        assertThat(client.bdevs()).isEmpty(); // the base bdev is given back too
        try (var entries = Files.list(state)) {
            assertThat(entries.map(p -> p.getFileName().toString()))
                    .allMatch(n -> n.startsWith("spdk_tgt") || n.startsWith(".spdk_tgt"));
        }
        String saved = Files.readString(new SpdkBackendSettings(state, SpdkSrTest::clientSettings).savedConfigFor(socket));
        assertThat(saved).doesNotContain("bdev_aio_create");
        assertThat(disk).exists(); // the device itself belongs to the administrator
    }

    /** Every lvol, hidden ones included: none may be left behind once its clones are gone. */
    @Override
    protected long storedVolumeCount() throws Exception {
        return client.lvols(lvsUuid()).size();
    }
}
