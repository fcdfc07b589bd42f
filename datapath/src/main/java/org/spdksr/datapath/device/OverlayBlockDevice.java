package org.spdksr.datapath.device;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.spdksr.datapath.device.BlockDeviceException.Reason;
import org.spdksr.datapath.device.OverlayMap.Kind;

/**
 * A non-persistent disk (smapiv3.md §4.6 {@code Datapath.open persistent=false}, feature
 * {@code NONPERSISTENT} §8): the guest's writes go to a sparse overlay file, reads merge overlay
 * and base, discards mark blocks as zero in the overlay, and the base volume is never written.
 * Dropping the overlay at {@code Datapath.close} discards the guest's writes without ever copying
 * the volume.
 *
 * <p>Granularity is {@link #logicalBlockSize()} (at least 4096 bytes, so the map stays small);
 * a write or discard that covers a block only partly reads the merged block, patches it and
 * writes it whole (serialised, so two partial writes to one block do not lose each other). The
 * map is saved beside the overlay ({@code <overlay>.map}) at every flush and at close, so the
 * overlay survives a blkifd restart; writes not yet flushed may be lost then, as on any disk.
 */
public final class OverlayBlockDevice implements BlockDevice {
    private final BlockDevice base;
    private final FileChannel overlay;
    private final Path mapFile;
    private final String name;
    private final int block;
    private final long size;
    private final OverlayMap map;
    private final Object partialWrites = new Object();
    private final ExecutorService io;
    private final AtomicBoolean closed = new AtomicBoolean();

    private OverlayBlockDevice(BlockDevice base, FileChannel overlay, Path overlayFile, int block, long size,
            OverlayMap map, int threads) {
        this.base = base;
        this.overlay = overlay;
        this.mapFile = mapFileOf(overlayFile);
        this.name = "overlay " + overlayFile;
        this.block = block;
        this.size = size;
        this.map = map;
        AtomicInteger n = new AtomicInteger();
        this.io = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "overlay-" + overlayFile.getFileName() + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    public static Path mapFileOf(Path overlayFile) {
        return overlayFile.resolveSibling(overlayFile.getFileName() + ".map");
    }

    /**
     * Opens the overlay over {@code base} (which it then owns and closes): creates a fresh overlay
     * when none exists, or continues one left by an earlier activation of the same epoch.
     */
    public static OverlayBlockDevice open(BlockDevice base, Path overlayFile) throws IOException {
        int block = Math.max(4096, base.logicalBlockSize());
        long size = base.sizeBytes();
        long blocks = (size + block - 1) / block;
        Files.createDirectories(overlayFile.getParent());
        Path mapFile = mapFileOf(overlayFile);
        OverlayMap map = Files.exists(overlayFile) && Files.exists(mapFile)
                ? OverlayMap.load(mapFile, blocks)
                : new OverlayMap(blocks);
        FileChannel ch = FileChannel.open(overlayFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        return new OverlayBlockDevice(base, ch, overlayFile, block, size, map, Math.max(1, Math.min(16, base.queueDepth())));
    }

    @Override
    public long sizeBytes() {
        return size; // fixed for the epoch: the overlay map is sized for the volume at open
    }

    @Override
    public int logicalBlockSize() {
        return block;
    }

    @Override
    public int queueDepth() {
        return base.queueDepth();
    }

    @Override
    public boolean supportsDiscard() {
        return true;
    }

    private interface Op {
        void run() throws IOException;
    }

    private CompletableFuture<Void> submit(long offset, long length, Op op) {
        if (closed.get()) {
            return CompletableFuture.failedFuture(new BlockDeviceException(Reason.CLOSED, name + " is closed"));
        }
        if (!DeviceRange.inside(offset, length, size)) {
            return CompletableFuture.failedFuture(new BlockDeviceException(Reason.OUT_OF_RANGE, name
                    + ": refused I/O at offset " + offset + " length " + length + " outside the device size " + size));
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            io.execute(() -> {
                try {
                    op.run();
                    done.complete(null);
                } catch (IOException | RuntimeException e) {
                    done.completeExceptionally(e instanceof BlockDeviceException ? e
                            : new BlockDeviceException(Reason.IO_ERROR, name + ": " + e.getMessage(), e));
                }
            });
        } catch (RuntimeException e) {
            done.completeExceptionally(new BlockDeviceException(Reason.CLOSED, name + " is closed", e));
        }
        return done;
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        ByteBuffer view = dst.duplicate();
        return submit(offset, view.remaining(), () -> readMerged(offset, view));
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src) {
        ByteBuffer view = src.duplicate();
        return submit(offset, view.remaining(), () -> writeRange(offset, view, false));
    }

    @Override
    public CompletableFuture<Void> discard(long offset, long length) {
        return submit(offset, length, () -> discardRange(offset, length));
    }

    @Override
    public CompletableFuture<Void> flush() {
        return submit(0, 0, () -> {
            overlay.force(false);
            synchronized (map) {
                if (map.dirty()) {
                    map.save(mapFile);
                }
            }
        });
    }

    private Kind kindOf(long blockIndex) {
        synchronized (map) {
            return map.kind(blockIndex);
        }
    }

    /** Reads runs of blocks of one kind at a time from base, overlay or zeros. */
    private void readMerged(long offset, ByteBuffer dst) throws IOException {
        long end = offset + dst.remaining();
        int start = dst.position();
        long cur = offset;
        while (cur < end) {
            Kind kind = kindOf(cur / block);
            long runEnd = Math.min(end, (cur / block + 1) * block);
            while (runEnd < end && kindOf(runEnd / block) == kind) {
                runEnd = Math.min(end, runEnd + block);
            }
            ByteBuffer part = dst.duplicate();
            part.limit(start + (int) (runEnd - offset)).position(start + (int) (cur - offset));
            switch (kind) {
                case BASE -> await(base.read(cur, part));
                case DATA -> readFully(part, cur);
                case ZERO -> {
                    while (part.hasRemaining()) {
                        part.put((byte) 0);
                    }
                }
                default -> throw new IllegalStateException();
            }
            cur = runEnd;
        }
    }

    /** Whole blocks go straight to the overlay; a partly covered block is read, patched and written whole. */
    private void writeRange(long offset, ByteBuffer src, boolean zeros) throws IOException {
        long end = offset + src.remaining();
        int start = src.position();
        long cur = offset;
        while (cur < end) {
            long blockStart = cur / block * block;
            long blockEnd = blockStart + block;
            if (cur == blockStart && blockEnd <= end) {
                long runEnd = blockEnd;
                while (runEnd + block <= end) {
                    runEnd += block;
                }
                ByteBuffer part = src.duplicate();
                part.limit(start + (int) (runEnd - offset)).position(start + (int) (cur - offset));
                writeFully(part, cur);
                synchronized (map) {
                    map.mark(cur / block, (runEnd - cur) / block, Kind.DATA);
                }
                cur = runEnd;
            } else {
                long partEnd = Math.min(end, blockEnd);
                ByteBuffer part = src.duplicate();
                part.limit(start + (int) (partEnd - offset)).position(start + (int) (cur - offset));
                patchBlock(blockStart, cur, part);
                cur = partEnd;
            }
        }
    }

    private void patchBlock(long blockStart, long at, ByteBuffer data) throws IOException {
        synchronized (partialWrites) {
            int length = (int) Math.min(block, size - blockStart);
            ByteBuffer whole = ByteBuffer.allocate(length);
            readMerged(blockStart, whole);
            whole.clear().position((int) (at - blockStart));
            whole.put(data);
            whole.clear();
            writeFully(whole, blockStart);
            synchronized (map) {
                map.mark(blockStart / block, 1, Kind.DATA);
            }
        }
    }

    private void discardRange(long offset, long length) throws IOException {
        long end = offset + length;
        long firstWhole = (offset + block - 1) / block * block;
        long lastWhole = end / block * block;
        if (firstWhole >= lastWhole) {
            zeroPart(offset, end);
            return;
        }
        zeroPart(offset, firstWhole);
        synchronized (map) {
            map.mark(firstWhole / block, (lastWhole - firstWhole) / block, Kind.ZERO);
        }
        zeroPart(lastWhole, end);
    }

    private void zeroPart(long from, long to) throws IOException {
        for (long cur = from; cur < to; ) {
            long blockStart = cur / block * block;
            long partEnd = Math.min(to, blockStart + block);
            patchBlock(blockStart, cur, ByteBuffer.allocate((int) (partEnd - cur)));
            cur = partEnd;
        }
    }

    private void readFully(ByteBuffer dst, long position) throws IOException {
        long pos = position;
        while (dst.hasRemaining()) {
            int n = overlay.read(dst, pos);
            if (n < 0) {
                while (dst.hasRemaining()) {
                    dst.put((byte) 0); // the sparse overlay ends before this block: never written
                }
                return;
            }
            pos += n;
        }
    }

    private void writeFully(ByteBuffer src, long position) throws IOException {
        long pos = position;
        while (src.hasRemaining()) {
            pos += overlay.write(src, pos);
        }
    }

    private static void await(CompletableFuture<Void> f) throws IOException {
        try {
            f.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** Saves the map, closes the overlay and the base. The overlay file stays until {@code Datapath.close}. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        io.shutdown();
        try {
            io.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS);
            overlay.force(false);
            synchronized (map) {
                map.save(mapFile);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(name + ": cannot save the overlay map: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try {
                overlay.close();
            } catch (IOException e) {
                // closing anyway
            }
            base.close();
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
