package org.spdksr.volume.sr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.plugin.idl.Volume;
import org.spdksr.plugin.idl.VolumeUri;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.volume.file.FileBackend;
import org.spdksr.volume.file.SparseFiles;

/** The shared suite on the file back end, plus what only files can show: the bytes. */
class FileSrTest extends SrSuite {
    @TempDir
    Path dir;
    @TempDir
    Path empty;

    @Override
    protected Backends start() {
        return new Backends(List.of(new FileBackend(new SparseFiles())));
    }

    @Override
    protected Map<String, String> deviceConfig() {
        return Map.of("path", dir.toString());
    }

    @Override
    protected Map<String, String> emptyDeviceConfig() {
        return Map.of("path", empty.toString());
    }

    @Override
    protected void assertNoTraceOnEmptyDevice() {
        assertThat(empty).isEmptyDirectory();
    }

    @Override
    protected long expectedSize(long requested) {
        return (requested + 511) / 512 * 512;
    }

    @Override
    protected void checkUri(Volume volume, VolumeUri uri) {
        assertThat(uri).isInstanceOfSatisfying(VolumeUri.FileVolume.class,
                f -> assertThat(f.file()).exists().hasFileName(volume.key() + ".raw"));
    }

    private static Path fileOf(Volume volume) {
        return ((VolumeUri.FileVolume) VolumeUri.parse(volume.uri().get(0))).file();
    }

    @Override
    protected void deleteDataBehindTheBack(Volume volume) throws Exception {
        Files.delete(fileOf(volume));
    }

    @Override
    protected String createOrphan(long size) throws Exception {
        String key = UUID.randomUUID().toString();
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("volumes").resolve(key + ".raw").toFile(), "rw")) {
            f.setLength(size);
        }
        return key;
    }

    @Override
    protected void leaveLeftover(Volume someVolume) throws Exception {
        Files.writeString(dir.resolve("volumes").resolve(".half-made.raw.tmp"), "interrupted");
    }

    @Override
    protected void assertLeftoverCleared() {
        assertThat(dir.resolve("volumes").resolve(".half-made.raw.tmp")).doesNotExist();
    }

    @Override
    protected void assertSrIntact() {
        assertThat(dir.resolve("spdk-sr.db")).exists();
    }

    @Override
    protected void leaveAdminFiles() throws Exception {
        Files.writeString(dir.resolve("admin-notes.txt"), "not ours");
    }

    @Override
    protected void assertDestroyed() throws Exception {
        try (var entries = Files.list(dir)) {
            assertThat(entries.map(p -> p.getFileName().toString()).collect(Collectors.toList()))
                    .containsExactly("admin-notes.txt");
        }
    }

    @Override
    protected long storedVolumeCount() throws Exception {
        try (var files = Files.list(dir.resolve("volumes"))) {
            return files.count();
        }
    }

    @Test
    void snapshotKeepsThePointInTimeAndCloneIsAnIndependentCopy() throws Exception {
        Volume v = volumes.create(sr, "disk", "", 64 << 20, false);
        Path file = fileOf(v);
        writeAt(file, 1 << 20, "before snapshot");
        Volume snap = volumes.snapshot(sr, v.key());
        writeAt(file, 1 << 20, "after  snapshot");

        Volume clone = volumes.clone(sr, snap.key());
        Path cloneFile = fileOf(clone);
        assertThat(readAt(cloneFile, 1 << 20, 15)).isEqualTo("before snapshot");
        writeAt(cloneFile, 0, "clone");
        assertThat(readAt(file, 0, 5)).isEqualTo("\0\0\0\0\0");
    }

    private static void writeAt(Path file, long offset, String text) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(offset);
            f.write(text.getBytes(StandardCharsets.US_ASCII));
        }
    }

    private static String readAt(Path file, long offset, int length) throws Exception {
        byte[] bytes = new byte[length];
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            f.seek(offset);
            f.readFully(bytes);
        }
        return new String(bytes, StandardCharsets.US_ASCII);
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
}
