package org.spdksr.datapath.vhost;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.spdksr.datapath.device.BlockDevice;
import org.spdksr.datapath.device.BlockDeviceException;
import org.spdksr.datapath.device.BlockDeviceException.Reason;
import org.spdksr.datapath.device.DeviceRange;
import org.spdksr.datapath.device.IoBuffers;
import org.spdksr.datapath.vhost.VhostHandshake.Negotiated;

/**
 * The {@code vhost-user-blk} back end of blkifd (ARCHITECTURE.md §4): a virtio-blk device
 * served by spdk_tgt (or qemu-storage-daemon) over vhost-user, with its virtqueues and data in
 * memory shared with the back end, so no kernel is on the I/O path.
 *
 * <ul>
 *   <li><b>One copy.</b> Buffers from {@link #allocate} and {@link #ioBuffers()} lie in the shared
 *       region: {@link #read} and {@link #write} hand them to the back end in place. Any other
 *       buffer is copied through a region bounce buffer (waiting for room if the region is full),
 *       counted by {@link #bytesBounced()}.</li>
 *   <li><b>Queues.</b> Up to {@link VhostDeviceOptions#maxQueues()} virtqueues, as many as the
 *       back end offers; {@link #queue(int)} is a view bound to one of them (one per blkifd guest
 *       queue); the device itself spreads requests round-robin.</li>
 *   <li><b>Checks before the back end.</b> Ranges outside the capacity ({@code OUT_OF_RANGE}),
 *       offsets or lengths that are not multiples of {@link #logicalBlockSize()}
 *       ({@code MISALIGNED}), writes, discards and write-zeroes on a read-only device
 *       ({@code READ_ONLY}: the back end offers VIRTIO_BLK_F_RO, or the options say so) fail
 *       without a request reaching the back end.</li>
 *   <li><b>Large I/O</b> is split into requests of at most {@link #maxTransferBytes()}, within
 *       the back end's seg_max and size_max; discards into segments within max_discard_sectors
 *       and max_discard_seg, trimmed inward to whole blocks (a discard is advisory).</li>
 *   <li><b>Back-end restart.</b> When the back end's socket hangs up, requests in flight are
 *       <b>retried</b>, not failed: the device reconnects (full handshake, the same region, reset
 *       rings) and resubmits them, so they complete normally once a back end is back. Only if none
 *       is back within {@link VhostDeviceOptions#reconnectTimeout()} do they fail with
 *       {@code IO_ERROR}, as do new requests until one is back. A request the old back end had
 *       completed but not yet reported is done again; reads and writes are idempotent, so this is
 *       safe, and writes completed before a restart are as durable as the back end left them
 *       (a later {@link #flush()} goes to the new back end).</li>
 *   <li><b>Completions</b> run on the device's completion thread: callbacks must not block.</li>
 * </ul>
 *
 * <p>Buffers passed to {@link #read} and {@link #write} are used from {@code position} to
 * {@code limit}; position and limit are left unchanged; the caller must not touch them until
 * the future completes. Futures fail with {@link BlockDeviceException}.
 */
public final class VhostBlockDevice implements BlockDevice {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(VhostBlockDevice.class);
    private static final int SECTOR = DeviceGeometry.SECTOR;

    private final String name;
    private final Path socket;
    private final VhostDeviceOptions options;
    private final SharedRegion region;
    private final BackendLink link;
    private final List<BlkQueue> queues;
    private final RegionBuffers buffers;
    private final RegionIoBuffers ioBuffers;
    private final VhostRequests requests;
    private final OperationTracker operations = new OperationTracker();
    private final int blockSize;
    private final int maxTransfer;
    private final boolean readOnly;
    private final LongAdder submitted;
    private final AtomicInteger nextQueue = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();

    private VhostBlockDevice(String name, Path socket, VhostDeviceOptions options, SharedRegion region, BackendLink link,
            List<BlkQueue> queues, RegionBuffers buffers, DeviceGeometry g, LongAdder submitted, Negotiated n) {
        this.name = name;
        this.socket = socket;
        this.options = options;
        this.region = region;
        this.link = link;
        this.queues = List.copyOf(queues);
        this.buffers = buffers;
        this.ioBuffers = new RegionIoBuffers(name, buffers);
        this.requests = new VhostRequests(name, queues, buffers, g);
        this.blockSize = g.blockSize();
        this.maxTransfer = g.maxTransfer();
        this.readOnly = options.readOnly() || n.has(VirtioFeatures.BLK_F_RO);
        this.submitted = submitted;
    }

    /**
     * Connects to the vhost-user-blk back end listening on {@code socket} (an spdk_tgt controller
     * socket, {@code <-S dir>/<ctrlr>}), negotiates, and sets up the shared region and queues.
     *
     * @throws IOException naming the socket and the step that failed: region creation (with what
     *         to do about hugepages), connection, negotiation, or a region too small
     */
    public static VhostBlockDevice open(Path socket, VhostDeviceOptions options) throws IOException {
        return open(socket, options, VhostBackendControl.NONE);
    }

    /**
     * As {@link #open(Path, VhostDeviceOptions)}, with {@code control} asked to restore the socket
     * while reconnecting and told when the device is closed.
     */
    public static VhostBlockDevice open(Path socket, VhostDeviceOptions options, VhostBackendControl control)
            throws IOException {
        String name = "vhost-user-blk device " + socket;
        SharedRegion region = SharedRegion.create("spdk-sr-vhost", options.backing(), options.regionBytes());
        BackendLink link = null;
        List<BlkQueue> queues = new ArrayList<>();
        try {
            link = new BackendLink(name, socket, options, region, control);
            Negotiated n = link.connect();
            DeviceGeometry g = DeviceGeometry.of(n, options);
            LongAdder submitted = new LongAdder();
            long at = 0;
            for (int i = 0; i < n.queues(); i++) {
                SplitVirtqueue.Layout l = SplitVirtqueue.Layout.at(at, options.ringSize(), g.indirectEntries(), g.scratchBytes());
                SplitVirtqueue vq = new SplitVirtqueue(region.buffer(), region.address(), l,
                        n.has(VirtioFeatures.RING_F_EVENT_IDX), n.has(VirtioFeatures.RING_F_INDIRECT_DESC));
                queues.add(new BlkQueue(i, vq, region.buffer(), g.sizeMax(), g.maxDataBuffers(), g.rangeSegments(), submitted));
                at = l.end();
            }
            long dataBytes = region.size() - at;
            if (dataBytes < 4L * g.maxTransfer()) {
                throw new IOException(name + ": the shared region of " + region.size() + " bytes leaves " + Math.max(0, dataBytes)
                        + " bytes for data after " + n.queues() + " rings of " + options.ringSize()
                        + " entries; raise regionBytes to at least " + (at + 4L * g.maxTransfer()) + " or use smaller rings");
            }
            RegionBuffers buffers = new RegionBuffers(region, at, dataBytes);
            link.start(queues);
            return new VhostBlockDevice(name, socket, options, region, link, queues, buffers, g, submitted, n);
        } catch (IOException | RuntimeException e) {
            if (link != null) {
                link.close();
            }
            queues.forEach(BlkQueue::close);
            region.close();
            throw e;
        }
    }

    public Path socket() {
        return socket;
    }

    public VhostDeviceOptions options() {
        return options;
    }

    /** The virtio-blk config as last read from the back end. */
    public VirtioBlkConfig config() {
        return link.negotiated().config();
    }

    /** The virtio feature bits both sides agreed on. */
    public long negotiatedFeatures() {
        return link.negotiated().features();
    }

    public int queueCount() {
        return queues.size();
    }

    public boolean isReadOnly() {
        return readOnly;
    }

    /** Largest data size of one virtio-blk request; larger I/O is split. */
    public int maxTransferBytes() {
        return maxTransfer;
    }

    /** Requests handed to the back end so far (refused requests never count). */
    public long requestsSubmitted() {
        return submitted.sum();
    }

    /** How many times the device reconnected to a restarted back end. */
    public long reconnects() {
        return link.reconnects();
    }

    /** True while a back end is connected (false while reconnecting). */
    public boolean isConnected() {
        return link.state() == BackendLink.State.CONNECTED;
    }

    /** Bytes of the shared region available for request buffers. */
    public long bufferCapacityBytes() {
        return buffers.capacityBytes();
    }

    /** Bytes of the shared region's data part not handed out right now. */
    public long freeBufferBytes() {
        return buffers.freeBytes();
    }

    /**
     * How many buffer allocations found the region full and waited for another request's buffer to
     * come back. Steady growth under normal load means the region is too small: raise regionBytes.
     */
    public long bufferWaits() {
        return buffers.waits();
    }

    /**
     * Bytes of reads and writes that went through a bounce buffer (one extra copy each) because
     * the caller's buffer was outside the shared region. Stays zero while every caller uses
     * {@link #ioBuffers()} or {@link #allocate}.
     */
    public long bytesBounced() {
        return requests.bytesBounced();
    }

    /** The shared region's buffers, which {@link #read} and {@link #write} use without a copy. */
    @Override
    public Optional<IoBuffers> ioBuffers() {
        return Optional.of(ioBuffers);
    }

    /**
     * A buffer of {@code bytes} inside the shared region, for callers that fill it themselves
     * (blkifd grant-copies guest data straight into it): {@link #write} and {@link #read} use it in
     * place, without a copy. Position 0, limit and capacity {@code bytes}. If the region has no
     * room right now, an ordinary direct buffer is returned instead (then one copy happens).
     * Give it back with {@link #free} once the I/O completed; never use it after {@link #close()}.
     */
    public ByteBuffer allocate(int bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("buffer size " + bytes + " must be positive");
        }
        ByteBuffer b = buffers.allocate(bytes);
        return b != null ? b : ByteBuffer.allocateDirect(bytes);
    }

    /** Returns a buffer from {@link #allocate}; other buffers are ignored. */
    public void free(ByteBuffer buffer) {
        buffers.free(buffer);
    }

    /** True when {@code buffer}'s remaining bytes lie in the shared region (I/O on it needs no copy). */
    public boolean isRegionBuffer(ByteBuffer buffer) {
        return buffers.regionOffset(buffer, 0) >= 0;
    }

    @Override
    public long sizeBytes() {
        // The config as last read: at open, after a reconnect, or after a range beyond it (refreshCapacity).
        return link.negotiated().config().capacity() * SECTOR;
    }

    @Override
    public int logicalBlockSize() {
        return blockSize;
    }

    /** Ring size times queues: with indirect descriptors every request takes one ring entry. */
    @Override
    public int queueDepth() {
        return options.ringSize() * queues.size();
    }

    @Override
    public boolean supportsDiscard() {
        return !readOnly && link.negotiated().has(VirtioFeatures.BLK_F_DISCARD);
    }

    public boolean supportsWriteZeroes() {
        return !readOnly && link.negotiated().has(VirtioFeatures.BLK_F_WRITE_ZEROES);
    }

    /** Virtqueue {@code ring mod queues}: each blkifd ring keeps its own virtqueue while there are enough. */
    @Override
    public BlockDevice forRing(int ring) {
        return queue(Math.floorMod(ring, queues.size()));
    }

    /** A view that sends every request to virtqueue {@code index}; closing the view does nothing. */
    public BlockDevice queue(int index) {
        if (index < 0 || index >= queues.size()) {
            throw new IllegalArgumentException(name + " has " + queues.size() + " queues; no queue " + index);
        }
        return new VhostQueueView(this, index);
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        return read(offset, dst, pickQueue());
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src) {
        return write(offset, src, pickQueue());
    }

    @Override
    public CompletableFuture<Void> flush() {
        return flush(pickQueue());
    }

    @Override
    public CompletableFuture<Void> discard(long offset, long length) {
        return discard(offset, length, pickQueue());
    }

    /**
     * Writes zeros over a range (VIRTIO_BLK_T_WRITE_ZEROES); with {@code mayUnmap} and a back
     * end that allows it, the range may be deallocated as well. Offset and length must be whole
     * blocks.
     */
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayUnmap) {
        return ranges(BlkRequest.T_WRITE_ZEROES, offset, length, mayUnmap, pickQueue());
    }

    /** The device's serial (VIRTIO_BLK_T_GET_ID): up to 20 bytes, without the padding NULs. */
    public CompletableFuture<String> deviceId() {
        CompletableFuture<Void> refused = admit("get-id", false);
        if (refused != null) {
            return refused.thenApply(v -> "");
        }
        return operations.track(requests.deviceId(pickQueue()));
    }

    CompletableFuture<Void> read(long offset, ByteBuffer dst, int queue) {
        return data(BlkRequest.T_IN, offset, dst, queue);
    }

    CompletableFuture<Void> write(long offset, ByteBuffer src, int queue) {
        return data(BlkRequest.T_OUT, offset, src, queue);
    }

    CompletableFuture<Void> discard(long offset, long length, int queue) {
        return ranges(BlkRequest.T_DISCARD, offset, length, false, queue);
    }

    private int pickQueue() {
        return Math.floorMod(nextQueue.getAndIncrement(), queues.size());
    }

    /** Checks common to every request; a failed future if refused, else null. */
    private CompletableFuture<Void> admit(String what, boolean modifies) {
        if (closed.get()) {
            return failed(Reason.CLOSED, name + ": " + what + " after the device was closed");
        }
        if (modifies && readOnly) {
            return failed(Reason.READ_ONLY, name + " is read-only (" + (options.readOnly() ? "opened read-only"
                    : "the back end exports it read-only, VIRTIO_BLK_F_RO") + "): " + what + " refused; attach the volume read-write");
        }
        if (link.state() == BackendLink.State.DISCONNECTED || link.state() == BackendLink.State.CLOSED) {
            return failed(Reason.IO_ERROR, name + ": no vhost-user back end is connected (it went away more than "
                    + options.reconnectTimeout() + " ago): " + what + " refused; restart the back end (spdk_tgt)");
        }
        return null;
    }

    /** Bounds always; with {@code aligned}, offset and length in whole blocks too. */
    private CompletableFuture<Void> checkRange(String what, long offset, long length, boolean aligned) {
        if (!DeviceRange.inside(offset, length, sizeBytes())) {
            refreshCapacity();
        }
        try {
            DeviceRange.check(name, offset, length, sizeBytes());
        } catch (BlockDeviceException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (aligned && (offset % blockSize != 0 || length % blockSize != 0)) {
            return failed(Reason.MISALIGNED, name + ": " + what + " at offset " + offset + " length " + length
                    + " is not in whole " + blockSize + "-byte blocks; align it to the logical block size");
        }
        return null;
    }

    /** A range beyond the size seen so far re-reads the config once: the volume may have grown. */
    private void refreshCapacity() {
        try {
            link.refreshConfig();
        } catch (IOException e) {
            // Keep the last known size; the link notices a dead back end by itself.
        }
    }

    private CompletableFuture<Void> data(int type, long offset, ByteBuffer buf, int queue) {
        String what = BlkRequest.typeName(type);
        CompletableFuture<Void> refused = admit(what, type == BlkRequest.T_OUT);
        if (refused == null) {
            refused = checkRange(what, offset, buf.remaining(), true);
        }
        return refused != null ? refused : operations.track(requests.data(type, offset, buf, queue));
    }

    CompletableFuture<Void> flush(int queue) {
        CompletableFuture<Void> refused = admit("flush", false);
        if (refused != null) {
            return refused;
        }
        if (!link.negotiated().has(VirtioFeatures.BLK_F_FLUSH)) {
            // virtio 1.2 §5.2.5: without VIRTIO_BLK_F_FLUSH the device has no volatile cache; writes are durable when done.
            return CompletableFuture.completedFuture(null);
        }
        return operations.track(requests.flush(queue));
    }

    private CompletableFuture<Void> ranges(int type, long offset, long length, boolean unmap, int queue) {
        String what = BlkRequest.typeName(type);
        boolean discard = type == BlkRequest.T_DISCARD;
        CompletableFuture<Void> refused = admit(what, true);
        if (refused != null) {
            return refused;
        }
        if (!(discard ? supportsDiscard() : supportsWriteZeroes())) {
            return failed(Reason.UNSUPPORTED, name + ": the back end does not offer " + (discard ? "VIRTIO_BLK_F_DISCARD"
                    : "VIRTIO_BLK_F_WRITE_ZEROES") + "; " + what + " is not supported on this device");
        }
        if (discard) {
            // A discard is advisory: trim it inward to whole blocks rather than refuse it.
            refused = checkRange(what, offset, length, false);
            if (refused != null) {
                return refused;
            }
            long first = (offset + blockSize - 1) / blockSize * blockSize;
            long end = (offset + length) / blockSize * blockSize;
            if (end <= first) {
                return CompletableFuture.completedFuture(null);
            }
            length = end - first;
            offset = first;
        } else {
            refused = checkRange(what, offset, length, true);
            if (refused != null) {
                return refused;
            }
        }
        return operations.track(requests.ranges(type, offset, length, unmap, link.negotiated().config(), queue));
    }

    private static CompletableFuture<Void> failed(Reason reason, String message) {
        return CompletableFuture.failedFuture(new BlockDeviceException(reason, message));
    }

    /**
     * Waits for operations in flight (at most the reconnect timeout plus 5 s, then they fail with
     * {@code CLOSED}), stops the rings with GET_VRING_BASE, disconnects and unmaps the region.
     * Region buffers from {@link #allocate} must not be used afterwards.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        operations.awaitIdle(System.nanoTime() + options.reconnectTimeout().toNanos() + 5_000_000_000L);
        link.close();
        BlockDeviceException cause = new BlockDeviceException(Reason.CLOSED,
                name + " was closed before the request completed");
        buffers.failWaiters(cause);
        for (BlkQueue q : queues) {
            q.detach();
            q.failWaiting(cause);
            q.close();
        }
        long lent = buffers.lentBytes();
        if (lent > 0) {
            // A holder of a region buffer (a blkifd request that outlived the ring's drain) may
            // still copy into it; unmapping would turn that copy into a crash of the whole
            // process. The mapping is left to the process's exit instead.
            LOG.warn("{}: {} bytes of the shared region are still lent out at close; leaving the region mapped",
                    name, lent);
        } else {
            region.close();
        }
        link.releaseBackend();
    }

    @Override
    public String toString() {
        return name;
    }
}
