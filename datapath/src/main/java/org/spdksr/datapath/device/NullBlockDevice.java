package org.spdksr.datapath.device;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A device of a fixed size that stores nothing: reads return zeros, writes, flushes and discards
 * succeed at once, on the caller's thread. It measures the cost of the ring or NBD path without any
 * storage below it (like SPDK's null bdev). Bounds are still enforced, so it also serves tests of
 * the callers' range checks.
 */
public final class NullBlockDevice implements BlockDevice {
    private final long size;
    private final int logicalBlockSize;
    private final int queueDepth;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Never written: the source of the zeros reads return. */
    private final byte[] zeros = new byte[4096];

    public NullBlockDevice(long sizeBytes, int logicalBlockSize, int queueDepth) {
        if (sizeBytes < 0) {
            throw new IllegalArgumentException("null device size " + sizeBytes + " is negative");
        }
        if (logicalBlockSize < 512 || Integer.bitCount(logicalBlockSize) != 1) {
            throw new IllegalArgumentException("logical block size " + logicalBlockSize + " is not a power of two >= 512");
        }
        if (queueDepth < 1) {
            throw new IllegalArgumentException("queue depth " + queueDepth + " must be at least 1");
        }
        this.size = sizeBytes;
        this.logicalBlockSize = logicalBlockSize;
        this.queueDepth = queueDepth;
    }

    public NullBlockDevice(long sizeBytes) {
        this(sizeBytes, 512, 128);
    }

    @Override
    public long sizeBytes() {
        return size;
    }

    @Override
    public int logicalBlockSize() {
        return logicalBlockSize;
    }

    @Override
    public int queueDepth() {
        return queueDepth;
    }

    @Override
    public boolean supportsDiscard() {
        return true;
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        return run(offset, dst.remaining(), () -> {
            ByteBuffer d = dst.duplicate();
            while (d.hasRemaining()) {
                d.put(zeros, 0, Math.min(zeros.length, d.remaining()));
            }
        });
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src) {
        return run(offset, src.remaining(), () -> { });
    }

    @Override
    public CompletableFuture<Void> flush() {
        return run(0, 0, () -> { });
    }

    @Override
    public CompletableFuture<Void> discard(long offset, long length) {
        return run(offset, length, () -> { });
    }

    @Override
    public void close() {
        closed.set(true);
    }

    @Override
    public String toString() {
        return "null device (" + size + " bytes)";
    }

    private CompletableFuture<Void> run(long offset, long length, Runnable body) {
        if (closed.get()) {
            return CompletableFuture.failedFuture(new BlockDeviceException(BlockDeviceException.Reason.CLOSED,
                    this + " is closed; create a new one"));
        }
        try {
            DeviceRange.check(toString(), offset, length, size);
        } catch (BlockDeviceException e) {
            return CompletableFuture.failedFuture(e);
        }
        body.run();
        return CompletableFuture.completedFuture(null);
    }
}
