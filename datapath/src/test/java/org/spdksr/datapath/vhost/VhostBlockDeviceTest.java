package org.spdksr.datapath.vhost;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.device.BlockDevice;
import org.spdksr.datapath.device.BlockDeviceException;
import org.spdksr.datapath.device.BlockDeviceException.Reason;
import org.spdksr.datapath.device.IoBuffers;

/**
 * {@link VhostBlockDevice} against a real vhost-user-blk back end, qemu-storage-daemon, serving
 * a raw image file. Every test skips (with the reason) only when the daemon is not installed.
 */
class VhostBlockDeviceTest {
    private static final int SIZE = 64 << 20;
    private static final long WAIT = 60;

    @TempDir
    Path dir;
    private Path image;
    private StorageDaemon daemon;
    private VhostBlockDevice device;

    static VhostDeviceOptions options() {
        return VhostDeviceOptions.defaults().withBacking(VhostDeviceOptions.Backing.PLAIN).withRegionBytes(32 << 20);
    }

    @BeforeEach
    void start() throws Exception {
        StorageDaemon.requireInstalled();
        image = dir.resolve("disk.raw");
        try (RandomAccessFile raf = new RandomAccessFile(image.toFile(), "rw")) {
            raf.setLength(SIZE);
        }
        daemon = StorageDaemon.start(image, dir.resolve("vhost.sock"), true, 2);
    }

    private VhostBlockDevice open(VhostDeviceOptions options) throws Exception {
        device = VhostBlockDevice.open(daemon.socket(), options);
        return device;
    }

    @AfterEach
    void stop() throws Exception {
        if (device != null) {
            device.close();
        }
        if (daemon != null) {
            daemon.close();
        }
    }

    private static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(WAIT, TimeUnit.SECONDS);
    }

    private static Reason failure(CompletableFuture<?> f) {
        try {
            f.get(WAIT, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(BlockDeviceException.class);
            return ((BlockDeviceException) e.getCause()).reason();
        } catch (Exception e) {
            throw new AssertionError("the operation did not complete: " + e, e);
        }
        throw new AssertionError("the operation succeeded but should have failed");
    }

    /** Byte arrays equal, reporting the first difference rather than megabytes of both. */
    static void assertSame(byte[] actual, byte[] expected, String what) {
        assertThat(actual.length).as("%s: length", what).isEqualTo(expected.length);
        int i = Arrays.mismatch(actual, expected);
        assertThat(i).as("%s: first differing byte (actual %s, expected %s)", what,
                i < 0 ? "" : actual[i], i < 0 ? "" : expected[i]).isEqualTo(-1);
    }

    private static byte[] pattern(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    private byte[] readImage(long offset, int length) throws Exception {
        byte[] b = new byte[length];
        try (RandomAccessFile raf = new RandomAccessFile(image.toFile(), "r")) {
            raf.seek(offset);
            raf.readFully(b);
        }
        return b;
    }

    private byte[] readDevice(BlockDevice dev, long offset, int length) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(length);
        await(dev.read(offset, b));
        return b.array();
    }

    private long allocatedSectors() throws Exception {
        Process p = new ProcessBuilder("stat", "-c", "%b", image.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertThat(p.waitFor(WAIT, TimeUnit.SECONDS)).isTrue();
        return Long.parseLong(out);
    }

    @Test
    void configAndCapacityComeFromTheBackEnd() throws Exception {
        VhostBlockDevice dev = open(options());
        assertThat(dev.sizeBytes()).isEqualTo(SIZE);
        assertThat(dev.logicalBlockSize()).isEqualTo(512);
        assertThat(dev.queueCount()).isEqualTo(2);
        assertThat(dev.queueDepth()).isEqualTo(options().ringSize() * 2);
        assertThat(dev.isReadOnly()).isFalse();
        assertThat(dev.supportsDiscard()).isTrue();
        assertThat(dev.supportsWriteZeroes()).isTrue();
        VirtioBlkConfig c = dev.config();
        assertThat(c.capacity()).isEqualTo(SIZE / 512);
        assertThat(c.numQueues()).isEqualTo(2);
        assertThat(c.segMax()).isPositive();
        assertThat(c.maxDiscardSectors()).isPositive();
        assertThat(c.maxDiscardSeg()).isPositive();
        assertThat(c.maxWriteZeroesSectors()).isPositive();
        assertThat(VirtioFeatures.has(dev.negotiatedFeatures(), VirtioFeatures.F_VERSION_1)).isTrue();
        assertThat(await(dev.deviceId())).isNotEmpty();
    }

    @Test
    void randomMixAcrossQueuesMatchesModelAndImage() throws Exception {
        VhostBlockDevice dev = open(options());
        byte[] model = new byte[SIZE];
        Random rnd = new Random(42);
        // forRing wraps: with 2 virtqueues, rings 2 and 3 share queues 0 and 1.
        List<BlockDevice> targets = List.of(dev, dev.queue(0), dev.queue(1), dev.forRing(2), dev.forRing(3));
        long before = dev.requestsSubmitted();
        for (int round = 0; round < 40; round++) {
            List<long[]> ranges = new ArrayList<>();
            List<CompletableFuture<?>> ops = new ArrayList<>();
            List<Runnable> checks = new ArrayList<>();
            List<ByteBuffer> regionBuffers = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                int length = 512 * (rnd.nextInt(10) == 0 ? 1 + rnd.nextInt(5000) : 1 + rnd.nextInt(64));
                long offset = 512L * rnd.nextInt((SIZE - length) / 512 + 1);
                if (ranges.stream().anyMatch(r -> offset < r[1] && r[0] < offset + length)) {
                    continue;
                }
                ranges.add(new long[] {offset, offset + length});
                BlockDevice target = targets.get(rnd.nextInt(targets.size()));
                int op = rnd.nextInt(10);
                if (op < 4) {
                    byte[] data = pattern(length, rnd.nextLong());
                    ByteBuffer buf = buffer(dev, rnd.nextInt(3), length, regionBuffers);
                    buf.duplicate().put(data);
                    System.arraycopy(data, 0, model, (int) offset, length);
                    ops.add(target.write(offset, buf));
                } else if (op < 8) {
                    ByteBuffer buf = buffer(dev, rnd.nextInt(3), length, regionBuffers);
                    byte[] expected = Arrays.copyOfRange(model, (int) offset, (int) offset + length);
                    ops.add(target.read(offset, buf));
                    checks.add(() -> {
                        byte[] got = new byte[length];
                        buf.duplicate().get(got);
                        assertSame(got, expected, "read of " + length + " bytes at " + offset);
                    });
                } else if (op == 8) {
                    Arrays.fill(model, (int) offset, (int) offset + length, (byte) 0);
                    ops.add(target.discard(offset, length));
                } else {
                    Arrays.fill(model, (int) offset, (int) offset + length, (byte) 0);
                    ops.add(dev.writeZeroes(offset, length, rnd.nextBoolean()));
                }
            }
            if (rnd.nextInt(4) == 0) {
                ops.add(targets.get(rnd.nextInt(targets.size())).flush());
            }
            for (CompletableFuture<?> f : ops) {
                await(f);
            }
            checks.forEach(Runnable::run);
            regionBuffers.forEach(dev::free);
        }
        assertThat(dev.requestsSubmitted()).isGreaterThan(before);
        await(dev.flush());
        for (int at = 0; at < SIZE; at += 4 << 20) {
            assertSame(readDevice(dev, at, 4 << 20), Arrays.copyOfRange(model, at, at + (4 << 20)), "device bytes at " + at);
            assertSame(readImage(at, 4 << 20), Arrays.copyOfRange(model, at, at + (4 << 20)), "image file bytes at " + at);
        }
    }

    /** 0: region buffer (no copy), 1: heap buffer, 2: direct buffer at a non-zero position. */
    private static ByteBuffer buffer(VhostBlockDevice dev, int kind, int length, List<ByteBuffer> regionBuffers) {
        switch (kind) {
            case 0 -> {
                ByteBuffer b = dev.allocate(length);
                assertThat(dev.isRegionBuffer(b)).isTrue();
                regionBuffers.add(b);
                return b;
            }
            case 1 -> {
                return ByteBuffer.allocate(length);
            }
            default -> {
                ByteBuffer b = ByteBuffer.allocateDirect(length + 3).position(3);
                assertThat(dev.isRegionBuffer(b)).isFalse();
                return b.slice();
            }
        }
    }

    @Test
    void buffersAreUsedFromPositionToLimitAndLeftUnchanged() throws Exception {
        VhostBlockDevice dev = open(options());
        byte[] data = pattern(4096, 7);
        ByteBuffer region = dev.allocate(8192);
        region.position(1000).put(data).position(1000).limit(1000 + 4096);
        await(dev.write(8192, region));
        assertThat(region.position()).isEqualTo(1000);
        assertThat(region.limit()).isEqualTo(5096);
        assertSame(readDevice(dev, 8192, 4096), data, "readDevice(dev, 8192, 4096)");
        dev.free(region);
    }

    @Test
    void flushReachesTheBackEnd() throws Exception {
        VhostBlockDevice dev = open(options());
        byte[] data = pattern(65536, 3);
        await(dev.write(1 << 20, ByteBuffer.wrap(data)));
        long before = dev.requestsSubmitted();
        await(dev.flush());
        await(dev.queue(1).flush());
        assertThat(dev.requestsSubmitted()).isEqualTo(before + 2);
        assertSame(readImage(1 << 20, 65536), data, "readImage(1 << 20, 65536)");
    }

    @Test
    void discardFreesBlocksInTheImage() throws Exception {
        VhostBlockDevice dev = open(options());
        int length = 16 << 20;
        await(dev.write(8 << 20, ByteBuffer.wrap(pattern(length, 5))));
        await(dev.flush());
        long full = allocatedSectors();
        assertThat(full).isGreaterThanOrEqualTo(length / 512);
        // 12 MiB: more than one max_discard_sectors (16 MiB in QEMU 7.2 is 32768 sectors) is not
        // needed to split, but an unaligned start and end are trimmed inward.
        await(dev.discard(10L * (1 << 20) + 100, (12 << 20) - 200));
        await(dev.flush());
        long after = allocatedSectors();
        assertThat(full - after).as("sectors freed (stat %%b before %d, after %d)", full, after)
                .isGreaterThanOrEqualTo((11L << 20) / 512);
        assertThat(readDevice(dev, 11 << 20, 1 << 20)).containsOnly(0);
        // The partial blocks at both ends were kept.
        assertSame(readImage(10L * (1 << 20), 512), Arrays.copyOfRange(pattern(length, 5), 2 << 20, (2 << 20) + 512), "readImage(10L * (1 << 20), 512)");
    }

    @Test
    void largeDiscardIsSplitWithinTheBackEndLimits() throws Exception {
        VhostBlockDevice dev = open(options());
        await(dev.write(0, ByteBuffer.wrap(pattern(SIZE, 9))));
        long before = dev.requestsSubmitted();
        await(dev.discard(0, SIZE));
        long perRequest = (long) dev.config().maxDiscardSectors() * 512 * Math.max(1, dev.config().maxDiscardSeg());
        assertThat(dev.requestsSubmitted() - before).isEqualTo((SIZE + perRequest - 1) / perRequest);
        assertThat(readDevice(dev, 0, 4 << 20)).containsOnly(0);
        assertThat(readImage(SIZE - (4 << 20), 4 << 20)).containsOnly(0);
    }

    @Test
    void writeZeroesZeroesExactlyTheRange() throws Exception {
        VhostBlockDevice dev = open(options());
        byte[] data = pattern(1 << 20, 11);
        await(dev.write(0, ByteBuffer.wrap(data)));
        await(dev.writeZeroes(4096, 8192, false));
        await(dev.writeZeroes(65536, 512, true));
        byte[] expected = data.clone();
        Arrays.fill(expected, 4096, 4096 + 8192, (byte) 0);
        Arrays.fill(expected, 65536, 65536 + 512, (byte) 0);
        assertSame(readDevice(dev, 0, 1 << 20), expected, "readDevice(dev, 0, 1 << 20)");
        await(dev.flush());
        assertSame(readImage(0, 1 << 20), expected, "readImage(0, 1 << 20)");
        assertThat(failure(dev.writeZeroes(100, 512, false))).isEqualTo(Reason.MISALIGNED);
    }

    @Test
    void outOfRangeAndMisalignedAreRefusedBeforeTheBackEnd() throws Exception {
        VhostBlockDevice dev = open(options());
        long before = dev.requestsSubmitted();
        assertThat(failure(dev.read(SIZE, ByteBuffer.allocate(512)))).isEqualTo(Reason.OUT_OF_RANGE);
        assertThat(failure(dev.write(SIZE - 512, ByteBuffer.allocate(1024)))).isEqualTo(Reason.OUT_OF_RANGE);
        assertThat(failure(dev.write(-512, ByteBuffer.allocate(512)))).isEqualTo(Reason.OUT_OF_RANGE);
        assertThat(failure(dev.discard(SIZE - 512, Long.MAX_VALUE))).isEqualTo(Reason.OUT_OF_RANGE);
        assertThat(failure(dev.writeZeroes(SIZE, 512, false))).isEqualTo(Reason.OUT_OF_RANGE);
        assertThat(failure(dev.queue(1).read(100, ByteBuffer.allocate(512)))).isEqualTo(Reason.MISALIGNED);
        assertThat(failure(dev.write(0, ByteBuffer.allocate(100)))).isEqualTo(Reason.MISALIGNED);
        assertThat(dev.requestsSubmitted()).isEqualTo(before);
        assertThat(await(dev.read(SIZE, ByteBuffer.allocate(0)))).isNull();
    }

    @Test
    void readOnlyExportRefusesWrites() throws Exception {
        daemon.close();
        daemon = StorageDaemon.start(image, dir.resolve("ro.sock"), false, 1);
        byte[] data = pattern(4096, 13);
        try (RandomAccessFile raf = new RandomAccessFile(image.toFile(), "rw")) {
            raf.write(data);
        }
        VhostBlockDevice dev = open(options());
        assertThat(dev.isReadOnly()).isTrue();
        assertThat(dev.supportsDiscard()).isFalse();
        long before = dev.requestsSubmitted();
        CompletableFuture<Void> write = dev.write(0, ByteBuffer.allocate(512));
        assertThat(failure(write)).isEqualTo(Reason.READ_ONLY);
        assertThatThrownBy(write::get).hasMessageContaining("read-only").hasMessageContaining("VIRTIO_BLK_F_RO");
        assertThat(failure(dev.discard(0, 4096))).isEqualTo(Reason.READ_ONLY);
        assertThat(failure(dev.writeZeroes(0, 4096, false))).isEqualTo(Reason.READ_ONLY);
        assertThat(dev.requestsSubmitted()).isEqualTo(before);
        assertSame(readDevice(dev, 0, 4096), data, "readDevice(dev, 0, 4096)");
        await(dev.flush());
    }

    @Test
    void readOnlyOptionRefusesWritesOnAWritableExport() throws Exception {
        VhostBlockDevice dev = open(options().withReadOnly(true));
        assertThat(failure(dev.write(0, ByteBuffer.allocate(512)))).isEqualTo(Reason.READ_ONLY);
        assertThat(readDevice(dev, 0, 512)).containsOnly(0);
    }

    @Test
    void reconnectsAfterTheBackEndRestartsAndRetriesWhatWasInFlight() throws Exception {
        VhostBlockDevice dev = open(options().withReconnect(Duration.ofSeconds(60), Duration.ofMillis(20)));
        byte[] first = pattern(1 << 20, 17);
        await(dev.write(0, ByteBuffer.wrap(first)));
        await(dev.flush());

        // A burst of writes sent to a frozen daemon, so all of them are in flight when it is killed.
        daemon.freeze();
        List<CompletableFuture<Void>> burst = new ArrayList<>();
        byte[] second = pattern(8 << 20, 19);
        for (int i = 0; i < 64; i++) {
            int at = i * (128 << 10);
            burst.add(dev.queue(i % 2).write((2 << 20) + at, ByteBuffer.wrap(second, at, 128 << 10)));
        }
        assertThat(burst).noneMatch(CompletableFuture::isDone);
        daemon.kill();
        // Requests made while no back end runs wait for the next one.
        CompletableFuture<Void> whileDown = dev.write(12 << 20, ByteBuffer.wrap(first));
        daemon.launch();
        for (CompletableFuture<Void> f : burst) {
            await(f);
        }
        await(whileDown);
        assertThat(dev.reconnects()).isGreaterThanOrEqualTo(1);
        assertThat(dev.isConnected()).isTrue();

        await(dev.flush());
        assertSame(readDevice(dev, 0, 1 << 20), first, "readDevice(dev, 0, 1 << 20)");
        assertSame(readDevice(dev, 2 << 20, 8 << 20), second, "readDevice(dev, 2 << 20, 8 << 20)");
        assertSame(readDevice(dev, 12 << 20, 1 << 20), first, "readDevice(dev, 12 << 20, 1 << 20)");
        assertSame(readImage(2 << 20, 8 << 20), second, "readImage(2 << 20, 8 << 20)");
        assertSame(readImage(12 << 20, 1 << 20), first, "readImage(12 << 20, 1 << 20)");
    }

    @Test
    void requestsFailWhenNoBackEndReturnsInTimeAndWorkAgainOnceOneDoes() throws Exception {
        VhostBlockDevice dev = open(options().withReconnect(Duration.ofMillis(200), Duration.ofMillis(20)));
        daemon.kill();
        CompletableFuture<Void> lost = dev.write(0, ByteBuffer.allocate(4096));
        assertThat(failure(lost)).isEqualTo(Reason.IO_ERROR);
        assertThatThrownBy(lost::get).hasMessageContaining("restart the back end");
        daemon.launch();
        // Wait (without a time assertion) until the device reconnected by itself.
        for (int i = 0; i < 3000 && !dev.isConnected(); i++) {
            Thread.sleep(10);
        }
        assertThat(dev.isConnected()).isTrue();
        byte[] data = pattern(4096, 23);
        await(dev.write(0, ByteBuffer.wrap(data)));
        assertSame(readDevice(dev, 0, 4096), data, "readDevice(dev, 0, 4096)");
    }

    @Test
    void requestsWaitForRingSlotsAndRegionRoomWhenBothRunOut() throws Exception {
        // 4 entries per ring and an 8 MiB region: 200 writes of 256 KiB from heap buffers (50 MiB
        // of bounce buffers) must queue for descriptors and for region memory, and all complete.
        VhostBlockDevice dev = open(options().withRingSize(4).withRegionBytes(8 << 20));
        assertThat(dev.queueDepth()).isEqualTo(8);
        byte[] data = pattern(200 * (256 << 10), 29);
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            writes.add(dev.write((long) i * (256 << 10), ByteBuffer.wrap(data, i * (256 << 10), 256 << 10)));
        }
        for (CompletableFuture<Void> w : writes) {
            await(w);
        }
        assertSame(readDevice(dev, 0, data.length), data, "device bytes after the backlog drained");
    }

    @Test
    void ioBuffersAreUsedInPlaceAndOnlyOtherBuffersAreBounced() throws Exception {
        VhostBlockDevice dev = open(options());
        IoBuffers region = dev.ioBuffers().orElseThrow();
        assertThat(dev.queue(1).ioBuffers()).as("a queue view offers the same region").containsSame(region);
        byte[] data = pattern(1 << 20, 37);
        ByteBuffer b = await(region.take(data.length));
        assertThat(b.position()).isZero();
        assertThat(b.limit()).isEqualTo(data.length);
        assertThat(dev.isRegionBuffer(b)).isTrue();
        b.duplicate().put(data);
        await(dev.queue(1).write(4096, b));
        b.duplicate().put(new byte[data.length]);
        await(dev.read(4096, b));
        byte[] got = new byte[data.length];
        b.duplicate().get(got);
        assertSame(got, data, "read back into the region buffer");
        region.give(b);
        assertThat(dev.bytesBounced()).as("bytes bounced for region buffers").isZero();

        await(dev.write(0, ByteBuffer.wrap(data, 0, 8192)));
        await(dev.read(0, ByteBuffer.allocate(4096)));
        assertThat(dev.bytesBounced()).as("bytes bounced for heap buffers").isEqualTo(8192 + 4096);
        assertThat(dev.freeBufferBytes()).isEqualTo(dev.bufferCapacityBytes());
        assertThatThrownBy(() -> region.give(ByteBuffer.allocateDirect(4096)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not in its shared region");
        assertThat(region.take(region.maxBytes() + 1)).isCompletedExceptionally();
    }

    @Test
    void ioBuffersWaitForRoomWhenTheRegionIsFullAndFailWhenTheDeviceCloses() throws Exception {
        VhostBlockDevice dev = open(options().withRegionBytes(8 << 20));
        IoBuffers region = dev.ioBuffers().orElseThrow();
        int size = region.maxBytes();
        List<ByteBuffer> held = new ArrayList<>();
        while (dev.freeBufferBytes() >= size) {
            held.add(await(region.take(size)));
        }
        CompletableFuture<ByteBuffer> waiting = region.take(size);
        CompletableFuture<ByteBuffer> behind = region.take(size);
        assertThat(waiting).as("a take while the region is full waits").isNotDone();
        assertThat(dev.bufferWaits()).isEqualTo(2);
        region.give(held.remove(0));
        held.add(await(waiting));
        assertThat(behind).as("the second waiter needs a second buffer back").isNotDone();
        held.forEach(region::give);
        region.give(await(behind));
        assertThat(dev.freeBufferBytes()).isEqualTo(dev.bufferCapacityBytes());

        held.clear();
        while (dev.freeBufferBytes() >= size) {
            held.add(await(region.take(size)));
        }
        CompletableFuture<ByteBuffer> orphan = region.take(size);
        dev.close();
        assertThatThrownBy(() -> orphan.get(WAIT, TimeUnit.SECONDS)).hasCauseInstanceOf(BlockDeviceException.class);
    }

    @Test
    void hugetlbRegionWorksWithTheBackEndWhenPagesAreReserved() throws Exception {
        long free = Files.readAllLines(Path.of("/proc/meminfo")).stream()
                .filter(l -> l.startsWith("HugePages_Free:")).mapToLong(l -> Long.parseLong(l.replaceAll("\\D", "")))
                .findFirst().orElse(0);
        assumeTrue(free >= 4,
                "skipped: fewer than 4 free 2 MiB hugepages (echo 4 > /proc/sys/vm/nr_hugepages to run it)");
        VhostBlockDevice dev = open(options().withBacking(VhostDeviceOptions.Backing.HUGETLB).withRegionBytes(8 << 20));
        byte[] data = pattern(1 << 20, 31);
        ByteBuffer b = dev.allocate(data.length);
        b.put(data).flip();
        await(dev.write(0, b));
        dev.free(b);
        assertSame(readDevice(dev, 0, data.length), data, "device bytes through a hugetlb region");
    }

    @Test
    void closeThenUseFailsWithClosed() throws Exception {
        VhostBlockDevice dev = open(options());
        CompletableFuture<Void> w = dev.write(0, ByteBuffer.wrap(pattern(4096, 1)));
        dev.close();
        assertThat(w).isDone();
        assertThat(failure(dev.read(0, ByteBuffer.allocate(512)))).isEqualTo(Reason.CLOSED);
        // The daemon accepts a new front end after the old one left.
        device = VhostBlockDevice.open(daemon.socket(), options());
        assertSame(readDevice(device, 0, 4096), pattern(4096, 1), "readDevice(device, 0, 4096)");
    }

    @Test
    void openFailsClearlyWithoutABackEnd() throws Exception {
        daemon.close();
        Files.deleteIfExists(daemon.socket());
        assertThatThrownBy(() -> VhostBlockDevice.open(daemon.socket(), options()))
                .hasMessageContaining(daemon.socket().toString()).hasMessageContaining("does not exist");
    }
}
