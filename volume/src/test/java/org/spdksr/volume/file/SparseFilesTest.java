package org.spdksr.volume.file;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SparseFilesTest {
    private static final long MIB = 1 << 20;
    private final SparseFiles sparse = new SparseFiles();

    @TempDir
    Path dir;

    @Test
    void copyKeepsDataAndHoles() throws Exception {
        Path source = dir.resolve("source.raw");
        byte[] first = new byte[64 * 1024];
        byte[] second = new byte[3 * 4096 + 17];
        new Random(7).nextBytes(first);
        new Random(8).nextBytes(second);
        try (RandomAccessFile file = new RandomAccessFile(source.toFile(), "rw")) {
            file.setLength(1024 * MIB);
            file.seek(5 * MIB);
            file.write(first);
            file.seek(700 * MIB + 123);
            file.write(second);
        }
        Path target = dir.resolve("target.raw");
        SparseFiles.CopyMethod method = sparse.copy(source, target);

        assertThat(Files.size(target)).isEqualTo(1024 * MIB);
        assertThat(Files.mismatch(source, target)).isEqualTo(-1L);
        if (method != SparseFiles.CopyMethod.REFLINK) {
            // Holes stay holes: only the two written regions (rounded to blocks) hold data.
            assertThat(sparse.allocatedBytes(target)).isLessThan(4 * MIB);
        }
    }

    @Test
    void dataExtentsOfAnEmptySparseFileAreNone() throws Exception {
        Path file = dir.resolve("empty.raw");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(3L << 40); // 3 TiB, beyond the VHD limit users complain about
        }
        assertThat(sparse.dataExtents(file)).isEmpty();
        assertThat(sparse.allocatedBytes(file)).isZero();
    }

    @Test
    void copyRefusesToOverwrite() throws Exception {
        Path source = Files.writeString(dir.resolve("a.raw"), "a");
        Path target = Files.writeString(dir.resolve("b.raw"), "b");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> sparse.copy(source, target))
                .hasMessageContaining("b.raw");
        assertThat(Files.readString(target)).isEqualTo("b");
    }
}
