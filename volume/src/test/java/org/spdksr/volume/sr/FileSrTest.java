package org.spdksr.volume.sr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.plugin.idl.ProbeResult;
import org.spdksr.plugin.idl.Volume;
import org.spdksr.plugin.idl.VolumeUri;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.volume.file.FileBackend;
import org.spdksr.volume.file.SparseFiles;

/** The SR and volume semantics on the file back end, in process, on real files and SQLite. */
class FileSrTest {
    private static final long GIB = 1L << 30;

    @TempDir
    Path dir;

    private SrOperations srs;
    private VolumeOperations volumes;
    private String sr;
    private final String srUuid = UUID.randomUUID().toString();

    @BeforeEach
    void createSr() throws Exception {
        Backends backends = new Backends(List.of(new FileBackend(new SparseFiles())));
        SrAccess access = new SrAccess(new SrLock());
        srs = new SrOperations(backends, access);
        volumes = new VolumeOperations(backends, access);
        Map<String, String> config = srs.create(srUuid, Map.of("path", dir.toString()), "sr", "test sr");
        assertThat(config).containsEntry("sr_uuid", srUuid).containsEntry("path", dir.toRealPath().toString());
        sr = srs.attach(config);
    }

    private static String params(SmapiException e) {
        return String.join("|", e.toRecord().params());
    }

    @Test
    void attachIsIdempotentAndChecksTheSrUuid() throws Exception {
        assertThat(srs.attach(Map.of("path", dir.toString()))).isEqualTo(sr);
        assertThat(srs.stat(sr).uuid()).isEqualTo(srUuid);
        assertThatThrownBy(() -> srs.attach(Map.of("path", dir.toString(), "sr_uuid", UUID.randomUUID().toString())))
                .isInstanceOfSatisfying(SmapiException.class, e -> assertThat(params(e)).startsWith("SR_does_not_exist|"));
    }

    @Test
    void secondSrInTheSameDirectoryIsRefusedButARetriedCreateIsNot() throws Exception {
        assertThat(srs.create(srUuid, Map.of("path", dir.toString()), "sr", "")).containsEntry("sr_uuid", srUuid);
        assertThatThrownBy(() -> srs.create(UUID.randomUUID().toString(), Map.of("path", dir.toString()), "x", ""))
                .isInstanceOfSatisfying(SmapiException.class, e -> assertThat(params(e)).startsWith("SR_exists|"))
                .hasMessageContaining(srUuid);
    }

    @Test
    void unknownDeviceConfigKeysAreRefusedByName(@TempDir Path other) {
        assertThatThrownBy(() -> srs.create(UUID.randomUUID().toString(), Map.of("path", other.toString(), "pth", "x"), "", ""))
                .isInstanceOfSatisfying(SmapiException.class, e -> assertThat(params(e)).startsWith("Invalid_arguments|"))
                .hasMessageContaining("pth");
    }

    @Test
    void probeTellsWhetherADirectoryHoldsAnSr(@TempDir Path empty) throws Exception {
        List<ProbeResult> found = srs.probe(Map.of("path", dir.toString()));
        assertThat(found).singleElement().satisfies(r -> {
            assertThat(r.sr().uuid()).isEqualTo(srUuid);
            assertThat(r.configuration()).containsEntry("sr_uuid", srUuid);
        });
        List<ProbeResult> none = srs.probe(Map.of("path", empty.toString()));
        assertThat(none).singleElement().satisfies(r -> {
            assertThat(r.sr()).isNull();
            assertThat(r.complete()).isTrue();
            assertThat(r.configuration()).doesNotContainKey("sr_uuid");
        });
        assertThat(empty).isEmptyDirectory(); // probing must not leave files behind
    }

    @Test
    void volumeLifecycle() throws Exception {
        Volume v = volumes.create(sr, "disk", "a disk", 10 * GIB + 1, false);
        assertThat(v.virtualSize()).isEqualTo(10 * GIB + 512);
        assertThat(v.readWrite()).isTrue();
        assertThat(v.physicalUtilisation()).isZero();
        VolumeUri uri = VolumeUri.parse(v.uri().get(0));
        assertThat(uri).isInstanceOfSatisfying(VolumeUri.FileVolume.class,
                f -> assertThat(f.file()).exists().hasFileName(v.key() + ".raw"));

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
    void snapshotIsReadOnlyAndCloneIsAnIndependentWritableCopy() throws Exception {
        Volume v = volumes.create(sr, "disk", "", 64 << 20, false);
        Path file = ((VolumeUri.FileVolume) VolumeUri.parse(v.uri().get(0))).file();
        writeAt(file, 1 << 20, "before snapshot");
        Volume snap = volumes.snapshot(sr, v.key());
        assertThat(snap.readWrite()).isFalse();
        assertThat(VolumeUri.parse(snap.uri().get(0)).readOnly()).isTrue();
        writeAt(file, 1 << 20, "after  snapshot");

        Volume clone = volumes.clone(sr, snap.key());
        assertThat(clone.readWrite()).isTrue();
        Path cloneFile = ((VolumeUri.FileVolume) VolumeUri.parse(clone.uri().get(0))).file();
        assertThat(readAt(cloneFile, 1 << 20, 15)).isEqualTo("before snapshot");
        writeAt(cloneFile, 0, "clone");
        assertThat(readAt(file, 0, 5)).isEqualTo("\0\0\0\0\0");

        assertThatThrownBy(() -> volumes.resize(sr, snap.key(), 128 << 20)).hasMessageContaining("read-only");
        assertThat(srs.ls(sr)).extracting(Volume::key).containsExactlyInAnyOrder(v.key(), snap.key(), clone.key());
    }

    @Test
    void lsReconcilesFilesAndRows() throws Exception {
        Volume kept = volumes.create(sr, "kept", "", 4096, false);
        Volume lost = volumes.create(sr, "lost", "", 4096, false);
        Files.delete(((VolumeUri.FileVolume) VolumeUri.parse(lost.uri().get(0))).file());
        Path volumesDir = dir.resolve("volumes");
        String orphanKey = UUID.randomUUID().toString();
        try (RandomAccessFile f = new RandomAccessFile(volumesDir.resolve(orphanKey + ".raw").toFile(), "rw")) {
            f.setLength(8192);
        }
        Files.writeString(volumesDir.resolve(".half-made.raw.tmp"), "interrupted");

        List<Volume> listed = srs.ls(sr);
        assertThat(listed).extracting(Volume::key).containsExactlyInAnyOrder(kept.key(), orphanKey);
        Volume orphan = listed.stream().filter(x -> x.key().equals(orphanKey)).findFirst().orElseThrow();
        assertThat(orphan.uuid()).isEqualTo(orphanKey);
        assertThat(orphan.name()).contains(orphanKey);
        assertThat(volumesDir.resolve(".half-made.raw.tmp")).doesNotExist();
        assertThat(srs.ls(sr)).isEqualTo(listed); // stable once reconciled
    }

    @Test
    void aSizeTheFileSystemCannotHoldIsAClearErrorAndLeavesNothing() throws Exception {
        assertThatThrownBy(() -> volumes.create(sr, "huge", "", Long.MAX_VALUE - 4096, false))
                .isInstanceOfSatisfying(SmapiException.class, e -> assertThat(params(e)).startsWith("VDI_too_large|"))
                .hasMessageContaining("smaller size");
        try (var files = Files.list(dir.resolve("volumes"))) {
            assertThat(files).isEmpty();
        }
        Volume v = volumes.create(sr, "small", "", 4096, false);
        assertThatThrownBy(() -> volumes.resize(sr, v.key(), Long.MAX_VALUE - 4096))
                .isInstanceOfSatisfying(SmapiException.class, e -> assertThat(params(e)).startsWith("VDI_too_large|"));
        assertThat(volumes.stat(sr, v.key()).virtualSize()).isEqualTo(4096);
    }

    @Test
    void hostileKeysNeverReachTheFileSystem() throws Exception {
        for (String key : List.of("../spdk-sr.db", "/etc/passwd", "", ".hidden", "a/b")) {
            assertThatThrownBy(() -> volumes.stat(sr, key))
                    .isInstanceOfSatisfying(SmapiException.class, e -> assertThat(params(e)).startsWith("Volume_does_not_exist|"));
            volumes.destroy(sr, key);
        }
        assertThat(dir.resolve("spdk-sr.db")).exists();
    }

    @Test
    void destroyRemovesEverythingTheSrCreated() throws Exception {
        volumes.create(sr, "a", "", 1 << 20, false);
        Files.writeString(dir.resolve("admin-notes.txt"), "not ours");
        srs.destroy(sr);
        srs.destroy(sr); // idempotent
        try (var entries = Files.list(dir)) {
            assertThat(entries.map(p -> p.getFileName().toString()).collect(Collectors.toList()))
                    .containsExactly("admin-notes.txt");
        }
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
        try (var files = Files.list(dir.resolve("volumes"))) {
            assertThat(files.count()).isEqualTo(created.size());
        }
    }

    private static void writeAt(Path file, long offset, String text) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(offset);
            f.write(text.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
    }

    private static String readAt(Path file, long offset, int length) throws Exception {
        byte[] bytes = new byte[length];
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            f.seek(offset);
            f.readFully(bytes);
        }
        return new String(bytes, java.nio.charset.StandardCharsets.US_ASCII);
    }
}
