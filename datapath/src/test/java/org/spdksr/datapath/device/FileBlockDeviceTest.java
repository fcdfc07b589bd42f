package org.spdksr.datapath.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.device.BlockDeviceException.Reason;

class FileBlockDeviceTest {
    private static final int SIZE = 4 << 20;

    @TempDir
    Path dir;

    static Path newFile(Path dir, long size) throws IOException {
        Path f = Files.createTempFile(dir, "vol", ".raw");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(size);
        }
        return f;
    }

    static void await(CompletableFuture<Void> f) {
        try {
            f.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new CompletionException(e.getCause());
        } catch (Exception e) {
            throw new AssertionError("operation did not complete", e);
        }
    }

    static Reason failure(CompletableFuture<Void> f) {
        try {
            f.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(BlockDeviceException.class);
            return ((BlockDeviceException) e.getCause()).reason();
        } catch (Exception e) {
            throw new AssertionError("operation did not complete", e);
        }
        throw new AssertionError("operation succeeded but should have failed");
    }

    static byte[] pattern(long seed, int length) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    // ---- model-based, concurrent ------------------------------------------------------------

    enum Kind { READ, WRITE, DISCARD, FLUSH }

    record Op(Kind kind, int offset, int length, long seed, boolean direct) {
        boolean mutates() {
            return kind == Kind.WRITE || kind == Kind.DISCARD;
        }

        boolean overlaps(Op o) {
            return offset < o.offset + o.length && o.offset < offset + length;
        }
    }

    @Provide
    Arbitrary<Op> op() {
        Arbitrary<Kind> kind = Arbitraries.frequency(
                net.jqwik.api.Tuple.of(5, Kind.READ), net.jqwik.api.Tuple.of(5, Kind.WRITE),
                net.jqwik.api.Tuple.of(2, Kind.DISCARD), net.jqwik.api.Tuple.of(1, Kind.FLUSH));
        Arbitrary<Integer> offset = Arbitraries.oneOf(Arbitraries.integers().between(0, SIZE - 1),
                Arbitraries.integers().between(0, SIZE / 4096 - 1).map(i -> i * 4096));
        Arbitrary<Integer> length = Arbitraries.oneOf(Arbitraries.integers().between(1, 8192),
                Arbitraries.integers().between(1, 64).map(i -> i * 4096), Arbitraries.integers().between(1, 300_000));
        return Combinators.combine(kind, offset, length, Arbitraries.longs(), Arbitraries.of(true, false))
                .as((k, o, l, s, d) -> new Op(k, o, Math.min(l, SIZE - o), s, d));
    }

    /**
     * Random reads, writes, discards and flushes, submitted in batches that run in parallel on the
     * device's I/O threads. Within a batch no mutating range overlaps any other range, so the
     * model (a byte array) gives the one right answer for every read.
     */
    @Property(tries = 12)
    void dataMatchesTheModelUnderParallelIo(@ForAll @Size(min = 20, max = 120) List<@net.jqwik.api.From("op") Op> ops)
            throws Exception {
        Path tmp = Files.createTempDirectory("filedev");
        Path f = newFile(tmp, SIZE);
        byte[] model = new byte[SIZE];
        try (FileBlockDevice dev = FileBlockDevice.open(f, FileDeviceOptions.defaults().withQueueDepth(8))) {
            int i = 0;
            while (i < ops.size()) {
                List<Op> batch = new ArrayList<>();
                while (i < ops.size() && fits(batch, ops.get(i))) {
                    batch.add(ops.get(i++));
                }
                List<CompletableFuture<Void>> futures = new ArrayList<>();
                List<ByteBuffer> readBuffers = new ArrayList<>();
                for (Op op : batch) {
                    ByteBuffer buf = op.direct() ? ByteBuffer.allocateDirect(op.length() + 3) : ByteBuffer.allocate(op.length() + 3);
                    buf.position(3); // an offset into the buffer, to exercise the position handling
                    readBuffers.add(buf);
                    futures.add(switch (op.kind()) {
                        case READ -> dev.read(op.offset(), buf);
                        case WRITE -> {
                            buf.put(pattern(op.seed(), op.length())).position(3);
                            yield dev.write(op.offset(), buf);
                        }
                        case DISCARD -> dev.discard(op.offset(), op.length());
                        case FLUSH -> dev.flush();
                    });
                }
                for (int j = 0; j < batch.size(); j++) {
                    Op op = batch.get(j);
                    await(futures.get(j));
                    if (op.kind() == Kind.READ) {
                        byte[] got = new byte[op.length()];
                        readBuffers.get(j).get(3, got);
                        assertThat(got).as("read %s", op)
                                .isEqualTo(Arrays.copyOfRange(model, op.offset(), op.offset() + op.length()));
                    }
                }
                for (Op op : batch) {
                    if (op.kind() == Kind.WRITE) {
                        System.arraycopy(pattern(op.seed(), op.length()), 0, model, op.offset(), op.length());
                    } else if (op.kind() == Kind.DISCARD) {
                        Arrays.fill(model, op.offset(), op.offset() + op.length(), (byte) 0);
                    }
                }
            }
            await(dev.flush());
            ByteBuffer all = ByteBuffer.allocate(SIZE);
            await(dev.read(0, all));
            assertThat(all.array()).isEqualTo(model);
        } finally {
            Files.delete(f);
            Files.delete(tmp);
        }
    }

    private static boolean fits(List<Op> batch, Op next) {
        for (Op op : batch) {
            if ((op.mutates() || next.mutates()) && op.overlaps(next)) {
                return false;
            }
        }
        return batch.size() < 16;
    }

    // ---- discard ---------------------------------------------------------------------------

    @Test
    void discardPunchesAHoleThatReallyFreesBlocks() throws Exception {
        Path f = newFile(dir, SIZE);
        try (FileBlockDevice dev = FileBlockDevice.open(f, FileDeviceOptions.defaults())) {
            assertThat(dev.supportsDiscard()).isTrue();
            ByteBuffer data = ByteBuffer.wrap(pattern(1, SIZE));
            await(dev.write(0, data));
            await(dev.flush());
            long before = allocatedBlocks(f);
            await(dev.discard(1 << 20, 2 << 20));
            long after = allocatedBlocks(f);
            // stat %b counts 512-byte blocks: 2 MiB freed = 4096 of them.
            assertThat(before - after).as("blocks freed by punching 2 MiB").isGreaterThanOrEqualTo(4096);
            ByteBuffer back = ByteBuffer.allocate(SIZE);
            await(dev.read(0, back));
            byte[] expected = pattern(1, SIZE);
            Arrays.fill(expected, 1 << 20, 3 << 20, (byte) 0);
            assertThat(back.array()).isEqualTo(expected);
            assertThat(Files.size(f)).as("KEEP_SIZE: the file keeps its length").isEqualTo(SIZE);
        }
    }

    @Test
    void unalignedDiscardZeroesExactlyItsRange() throws Exception {
        Path f = newFile(dir, 65536);
        try (FileBlockDevice dev = FileBlockDevice.open(f, FileDeviceOptions.defaults())) {
            await(dev.write(0, ByteBuffer.wrap(pattern(2, 65536))));
            await(dev.discard(1000, 10_000));
            byte[] expected = pattern(2, 65536);
            Arrays.fill(expected, 1000, 11_000, (byte) 0);
            ByteBuffer back = ByteBuffer.allocate(65536);
            await(dev.read(0, back));
            assertThat(back.array()).isEqualTo(expected);
        }
    }

    static long allocatedBlocks(Path f) throws Exception {
        Process p = new ProcessBuilder("stat", "--format=%b", f.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertThat(p.waitFor()).as("stat output: %s", out).isZero();
        return Long.parseLong(out);
    }

    // ---- bounds ----------------------------------------------------------------------------

    @Test
    void ioOutsideTheDeviceIsRefusedAndNeverPerformed() throws Exception {
        Path f = newFile(dir, 65536);
        try (FileBlockDevice dev = FileBlockDevice.open(f, FileDeviceOptions.defaults())) {
            assertThat(failure(dev.write(65536, ByteBuffer.allocate(1)))).isEqualTo(Reason.OUT_OF_RANGE);
            assertThat(failure(dev.write(65000, ByteBuffer.allocate(1024)))).isEqualTo(Reason.OUT_OF_RANGE);
            assertThat(failure(dev.write(-512, ByteBuffer.allocate(512)))).isEqualTo(Reason.OUT_OF_RANGE);
            assertThat(failure(dev.read(Long.MAX_VALUE, ByteBuffer.allocate(512)))).isEqualTo(Reason.OUT_OF_RANGE);
            assertThat(failure(dev.read(65024, ByteBuffer.allocate(1024)))).isEqualTo(Reason.OUT_OF_RANGE);
            assertThat(failure(dev.discard(4096, Long.MAX_VALUE))).isEqualTo(Reason.OUT_OF_RANGE);
            assertThat(failure(dev.discard(-1, 10))).isEqualTo(Reason.OUT_OF_RANGE);
            await(dev.write(65536 - 512, ByteBuffer.wrap(pattern(3, 512)))); // the last sector is inside
        }
        assertThat(Files.size(f)).as("no write grew the file").isEqualTo(65536);
        byte[] content = Files.readAllBytes(f);
        assertThat(Arrays.copyOfRange(content, 0, 65024)).containsOnly(0);
    }

    @Test
    void onlineGrowthIsSeenWithoutReopening() throws Exception {
        Path f = newFile(dir, 65536);
        try (FileBlockDevice dev = FileBlockDevice.open(f, FileDeviceOptions.defaults())) {
            assertThat(dev.sizeBytes()).isEqualTo(65536);
            try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                raf.setLength(131072);
            }
            // no sizeBytes() call first: the range check itself re-reads the size
            await(dev.write(100_000, ByteBuffer.wrap(pattern(4, 4096))));
            assertThat(dev.sizeBytes()).isEqualTo(131072);
            ByteBuffer back = ByteBuffer.allocate(4096);
            await(dev.read(100_000, back));
            assertThat(back.array()).isEqualTo(pattern(4, 4096));
        }
    }

    // ---- modes -----------------------------------------------------------------------------

    @Test
    void directIoWhenTheFileSystemSupportsIt() throws Exception {
        Path f = newFile(dir, 1 << 20);
        FileBlockDevice dev;
        try {
            dev = FileBlockDevice.open(f, FileDeviceOptions.defaults().withDirect(true));
        } catch (BlockDeviceException e) {
            assumeTrue(e.reason() != Reason.UNSUPPORTED, "skipped: the file system of " + dir
                    + " does not support O_DIRECT: " + e.getMessage());
            throw e;
        }
        try (dev) {
            assertThat(dev.isDirect()).isTrue();
            int lbs = dev.logicalBlockSize();
            assertThat(lbs).isBetween(512, 4096);
            // heap buffer: bounced through an aligned buffer
            await(dev.write(8192, ByteBuffer.wrap(pattern(5, 8192))));
            // aligned direct buffer: used as is
            ByteBuffer aligned = FileBlockDevice.alignedBuffer(8192, 4096);
            await(dev.read(8192, aligned));
            byte[] got = new byte[8192];
            aligned.get(got);
            assertThat(got).isEqualTo(pattern(5, 8192));
            // misaligned direct buffer: bounced
            ByteBuffer odd = ByteBuffer.allocateDirect(8192 + 7).position(7);
            await(dev.read(8192, odd));
            byte[] got2 = new byte[8192];
            odd.get(7, got2);
            assertThat(got2).isEqualTo(pattern(5, 8192));
            assertThat(failure(dev.read(100, ByteBuffer.allocate(lbs)))).isEqualTo(Reason.MISALIGNED);
            assertThat(failure(dev.write(0, ByteBuffer.allocate(lbs + 1)))).isEqualTo(Reason.MISALIGNED);
            await(dev.discard(0, 4096));
            await(dev.flush());
        }
    }

    @Test
    void readOnlyDeviceRefusesWritesAndDiscards() throws Exception {
        Path f = newFile(dir, 65536);
        try (FileBlockDevice dev = FileBlockDevice.open(f, FileDeviceOptions.defaults().withReadOnly(true))) {
            assertThat(dev.supportsDiscard()).isFalse();
            assertThat(failure(dev.write(0, ByteBuffer.allocate(512)))).isEqualTo(Reason.READ_ONLY);
            assertThat(failure(dev.discard(0, 512))).isEqualTo(Reason.READ_ONLY);
            await(dev.read(0, ByteBuffer.allocate(512)));
        }
    }

    @Test
    void closedDeviceRefusesNewWorkAndCloseWaitsForInFlight() throws Exception {
        Path f = newFile(dir, SIZE);
        FileBlockDevice dev = FileBlockDevice.open(f, FileDeviceOptions.defaults().withQueueDepth(2));
        List<CompletableFuture<Void>> inFlight = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            inFlight.add(dev.write((long) i * 65536, ByteBuffer.wrap(pattern(i, 65536))));
        }
        dev.close();
        for (CompletableFuture<Void> w : inFlight) {
            assertThat(w).isDone();
            await(w);
        }
        assertThat(failure(dev.read(0, ByteBuffer.allocate(512)))).isEqualTo(Reason.CLOSED);
        dev.close(); // idempotent
    }

    @Test
    void refusesWhatIsNeitherAFileNorABlockDevice() {
        assertThatThrownBy(() -> FileBlockDevice.open(dir, FileDeviceOptions.defaults()))
                .isInstanceOf(IOException.class).hasMessageContaining("neither a regular file nor a block device");
        assertThatThrownBy(() -> FileBlockDevice.open(dir.resolve("missing"), FileDeviceOptions.defaults()))
                .isInstanceOf(IOException.class);
    }

    // ---- block devices ---------------------------------------------------------------------

    /**
     * A loop device over a temp file stands in for a disk: sector size from BLKSSZGET, size from
     * lseek, discard with BLKDISCARD (the loop driver punches a hole in its backing file). Needs
     * root and loop devices; skips otherwise.
     */
    @Test
    void blockDeviceThroughALoopDevice() throws Exception {
        Path backing = newFile(dir, SIZE);
        Process p;
        try {
            p = new ProcessBuilder("losetup", "--find", "--show", backing.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "skipped: losetup is not available: " + e.getMessage());
            return;
        }
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assumeTrue(p.waitFor() == 0 && out.startsWith("/dev/loop"),
                "skipped: cannot attach a loop device (needs root and /dev/loop*): " + out);
        Path loop = Path.of(out);
        try {
            try (FileBlockDevice dev = FileBlockDevice.open(loop, FileDeviceOptions.defaults())) {
                assertThat(dev.isBlockDevice()).isTrue();
                assertThat(dev.sizeBytes()).isEqualTo(SIZE);
                assertThat(dev.logicalBlockSize()).isEqualTo(512);
                await(dev.write(0, ByteBuffer.wrap(pattern(9, 2 << 20))));
                await(dev.flush());
                ByteBuffer back = ByteBuffer.allocate(2 << 20);
                await(dev.read(0, back));
                assertThat(back.array()).isEqualTo(pattern(9, 2 << 20));
                assertThat(failure(dev.write(SIZE - 512, ByteBuffer.allocate(1024)))).isEqualTo(Reason.OUT_OF_RANGE);
                long before = allocatedBlocks(backing);
                await(dev.discard(1000, (1 << 20) - 1000)); // trimmed inward to [1024, 1 MiB)
                await(dev.flush());
                assertThat(allocatedBlocks(backing)).as("BLKDISCARD freed blocks of the backing file").isLessThan(before);
            }
            try (FileBlockDevice direct = FileBlockDevice.open(loop, FileDeviceOptions.defaults().withDirect(true))) {
                ByteBuffer b = FileBlockDevice.alignedBuffer(4096, 4096);
                await(direct.read(1 << 20, b));
                byte[] got = new byte[4096];
                b.get(got);
                assertThat(got).isEqualTo(Arrays.copyOfRange(pattern(9, 2 << 20), 1 << 20, (1 << 20) + 4096));
            }
        } finally {
            new ProcessBuilder("losetup", "-d", loop.toString()).inheritIO().start().waitFor();
        }
        assertThat(Files.size(backing)).isEqualTo(SIZE);
    }

    // ---- null device -----------------------------------------------------------------------

    @Test
    void nullDeviceReadsZerosAndChecksBounds() {
        NullBlockDevice dev = new NullBlockDevice(1 << 20);
        ByteBuffer b = ByteBuffer.allocate(10_000);
        b.put(0, (byte) 7);
        await(dev.write(0, ByteBuffer.wrap(pattern(6, 4096))));
        await(dev.read(4096, b));
        assertThat(b.array()).containsOnly(0);
        await(dev.flush());
        await(dev.discard(0, 1 << 20));
        assertThat(failure(dev.read((1 << 20) - 10, ByteBuffer.allocate(11)))).isEqualTo(Reason.OUT_OF_RANGE);
        dev.close();
        assertThat(failure(dev.flush())).isEqualTo(Reason.CLOSED);
    }
}
