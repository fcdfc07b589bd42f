package org.spdksr.datapath.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The non-persistent overlay against a byte-array model: random writes, reads, discards and
 * flushes at any alignment, reopening the overlay in the middle (a deactivate/activate within one
 * epoch), and at the end the base file byte for byte as it was.
 */
class OverlayBlockDeviceTest {
    // Not a multiple of the 4096-byte overlay block: the last block is partial.
    private static final int SIZE = (1 << 20) + 3 * 512;

    @TempDir
    Path dir;

    private Path baseFile(byte[] content) throws Exception {
        Path file = dir.resolve("base.raw");
        Files.write(file, content);
        return file;
    }

    private OverlayBlockDevice open(Path base) throws Exception {
        return OverlayBlockDevice.open(FileBlockDevice.open(base, FileDeviceOptions.defaults().withReadOnly(true)),
                dir.resolve("np.overlay"));
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void behavesLikeTheModelAndNeverWritesTheBase(long seed) throws Exception {
        Random random = new Random(seed);
        byte[] original = new byte[SIZE];
        random.nextBytes(original);
        Path base = baseFile(original);
        byte[] model = original.clone();
        OverlayBlockDevice dev = open(base);
        try {
            assertThat(dev.sizeBytes()).isEqualTo(SIZE);
            for (int step = 0; step < 400; step++) {
                int op = random.nextInt(100);
                long offset = random.nextInt(SIZE);
                int length = (int) Math.min(SIZE - offset, 1 + random.nextInt(random.nextBoolean() ? 700 : 40000));
                if (op < 35) {
                    byte[] data = new byte[length];
                    random.nextBytes(data);
                    dev.write(offset, ByteBuffer.wrap(data)).get(10, TimeUnit.SECONDS);
                    System.arraycopy(data, 0, model, (int) offset, length);
                } else if (op < 75) {
                    ByteBuffer got = ByteBuffer.allocate(length + 8);
                    got.position(3).limit(3 + length); // the buffer's position and limit are honoured
                    dev.read(offset, got).get(10, TimeUnit.SECONDS);
                    byte[] actual = Arrays.copyOfRange(got.array(), 3, 3 + length);
                    assertThat(actual).as("step %d read %d+%d", step, offset, length)
                            .isEqualTo(Arrays.copyOfRange(model, (int) offset, (int) offset + length));
                } else if (op < 90) {
                    dev.discard(offset, length).get(10, TimeUnit.SECONDS);
                    Arrays.fill(model, (int) offset, (int) offset + length, (byte) 0);
                } else if (op < 96) {
                    dev.flush().get(10, TimeUnit.SECONDS);
                } else {
                    dev.close(); // deactivate, then activate again in the same epoch
                    dev = open(base);
                }
            }
            ByteBuffer all = ByteBuffer.allocate(SIZE);
            dev.read(0, all).get(10, TimeUnit.SECONDS);
            assertThat(all.array()).isEqualTo(model);
        } finally {
            dev.close();
        }
        assertThat(Files.readAllBytes(base)).as("the base volume is never written").isEqualTo(original);
    }

    @Test
    void refusesIoOutsideTheDevice() throws Exception {
        try (OverlayBlockDevice dev = open(baseFile(new byte[SIZE]))) {
            assertThatThrownBy(() -> dev.write(SIZE - 10, ByteBuffer.allocate(20)).get())
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(BlockDeviceException.class);
            assertThatThrownBy(() -> dev.discard(-1, 10).get()).isInstanceOf(ExecutionException.class);
            assertThatThrownBy(() -> dev.read(Long.MAX_VALUE - 2, ByteBuffer.allocate(10)).get())
                    .isInstanceOf(ExecutionException.class);
        }
    }

    @Test
    void aFreshOverlayShowsTheBaseAndDroppingItDropsTheWrites() throws Exception {
        byte[] original = new byte[SIZE];
        new Random(9).nextBytes(original);
        Path base = baseFile(original);
        try (OverlayBlockDevice dev = open(base)) {
            dev.write(4096, ByteBuffer.wrap(new byte[8192])).get();
            dev.flush().get();
        }
        Path overlay = dir.resolve("np.overlay");
        Files.delete(overlay); // Datapath.close
        Files.delete(OverlayBlockDevice.mapFileOf(overlay));
        try (OverlayBlockDevice dev = open(base)) {
            ByteBuffer all = ByteBuffer.allocate(SIZE);
            dev.read(0, all).get();
            assertThat(all.array()).isEqualTo(original);
        }
    }
}
