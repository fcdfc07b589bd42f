package org.spdksr.datapath.vhost;

import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.spdksr.datapath.device.BlockDevice;
import org.spdksr.datapath.device.IoBuffers;

/**
 * {@link VhostBlockDevice#queue(int)}: the device bound to one virtqueue, as each blkifd guest
 * queue uses it. The device owns the connection, so closing a view changes nothing.
 */
final class VhostQueueView implements BlockDevice {
    private final VhostBlockDevice device;
    private final int index;

    VhostQueueView(VhostBlockDevice device, int index) {
        this.device = device;
        this.index = index;
    }

    @Override
    public long sizeBytes() {
        return device.sizeBytes();
    }

    @Override
    public int logicalBlockSize() {
        return device.logicalBlockSize();
    }

    @Override
    public int queueDepth() {
        return device.options().ringSize();
    }

    @Override
    public boolean supportsDiscard() {
        return device.supportsDiscard();
    }

    @Override
    public Optional<IoBuffers> ioBuffers() {
        return device.ioBuffers();
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        return device.read(offset, dst, index);
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src) {
        return device.write(offset, src, index);
    }

    @Override
    public CompletableFuture<Void> flush() {
        return device.flush(index);
    }

    @Override
    public CompletableFuture<Void> discard(long offset, long length) {
        return device.discard(offset, length, index);
    }

    @Override
    public void close() {
        // The device owns the connection.
    }

    @Override
    public String toString() {
        return device + " queue " + index;
    }
}
