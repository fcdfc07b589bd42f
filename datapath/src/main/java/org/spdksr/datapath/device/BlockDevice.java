package org.spdksr.datapath.device;

import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Where a disk's bytes live, as blkifd and the NBD export see it: asynchronous, so one guest
 * queue can keep many requests in flight (ARCHITECTURE.md §2: a {@code file} and a
 * {@code vhost-user-blk} implementation, like one SPDK bdev module per back end).
 *
 * <p>Offsets and lengths are in bytes and already checked against {@link #sizeBytes()} by the
 * caller; an implementation still refuses I/O outside the device rather than trust that. A
 * completed future means the operation is done as far as the device guarantees: a write is
 * durable only after a later {@link #flush()} completes.
 */
public interface BlockDevice extends AutoCloseable {

    /** Current size in bytes; may grow while open (online resize). */
    long sizeBytes();

    /** Logical block size in bytes, a power of two of at least 512. */
    int logicalBlockSize();

    /** How many requests it serves at once; more are queued. */
    int queueDepth();

    boolean supportsDiscard();

    /**
     * What guest ring {@code ring} (counted from 0) should send its requests to. A device with
     * several hardware queues gives each ring one of its own, shared round the queues when the
     * guest has more rings than the device has queues (a vhost-user-blk device: one virtqueue per
     * blkifd queue, issue 7); other devices serve every ring themselves. Closing the view must not
     * close the device.
     */
    default BlockDevice forRing(int ring) {
        return this;
    }

    /**
     * Buffers this device reads and writes without copying, if it has such (a vhost-user-blk
     * device's shared region); empty when any direct buffer does as well as another.
     */
    default Optional<IoBuffers> ioBuffers() {
        return Optional.empty();
    }

    /** Reads {@code dst.remaining()} bytes at {@code offset} into {@code dst}. */
    CompletableFuture<Void> read(long offset, ByteBuffer dst);

    /** Writes {@code src.remaining()} bytes at {@code offset}. */
    CompletableFuture<Void> write(long offset, ByteBuffer src);

    /** Makes every write completed before the call durable. */
    CompletableFuture<Void> flush();

    /** Deallocates a range; it then reads as zeros. */
    CompletableFuture<Void> discard(long offset, long length);

    /** Waits for in-flight operations, then releases the device. */
    @Override
    void close();
}
