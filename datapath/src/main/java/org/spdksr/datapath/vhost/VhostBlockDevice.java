package org.spdksr.datapath.vhost;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
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
    private static final int SECTOR = 512;
    /** Cap on one request's data: bounds a bounce buffer and a request's share of the region. */
    private static final int MAX_TRANSFER = 1 << 20;
    /** Cap on data descriptors per request (indirect table entries minus header and status). */
    private static final int MAX_DATA_BUFFERS = 126;
    private static final int MAX_RANGE_SEGMENTS = 16;

    private final String name;
    private final Path socket;
    private final VhostDeviceOptions options;
    private final SharedRegion region;
    private final BackendLink link;
    private final List<BlkQueue> queues;
    private final RegionBuffers buffers;
    private final RegionIoBuffers ioBuffers;
    private final LongAdder bounced = new LongAdder();
    private final int blockSize;
    private final int maxTransfer;
    private final int rangeSegments;
    private final boolean readOnly;
    private final LongAdder submitted;
    private final AtomicInteger nextQueue = new AtomicInteger();
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();

    private VhostBlockDevice(String name, Path socket, VhostDeviceOptions options, SharedRegion region, BackendLink link,
            List<BlkQueue> queues, RegionBuffers buffers, Geometry g, LongAdder submitted, Negotiated n) {
        this.name = name;
        this.socket = socket;
        this.options = options;
        this.region = region;
        this.link = link;
        this.queues = List.copyOf(queues);
        this.buffers = buffers;
        this.ioBuffers = new RegionIoBuffers(name, buffers);
        this.blockSize = g.blockSize();
        this.maxTransfer = g.maxTransfer();
        this.rangeSegments = g.rangeSegments();
        this.readOnly = options.readOnly() || n.has(VirtioFeatures.BLK_F_RO);
        this.submitted = submitted;
    }

    /** Sizes derived from the negotiated features and config. */
    private record Geometry(int blockSize, int sizeMax, int maxDataBuffers, int indirectEntries, int maxTransfer,
            int rangeSegments, int scratchBytes) {

        static Geometry of(Negotiated n, VhostDeviceOptions o) {
            VirtioBlkConfig c = n.config();
            int blockSize = n.has(VirtioFeatures.BLK_F_BLK_SIZE) && c.blkSize() >= SECTOR && Integer.bitCount(c.blkSize()) == 1
                    ? c.blkSize() : SECTOR;
            int sizeMax = n.has(VirtioFeatures.BLK_F_SIZE_MAX) && c.sizeMax() >= 4096 ? c.sizeMax() : MAX_TRANSFER;
            int maxData = n.has(VirtioFeatures.BLK_F_SEG_MAX) && c.segMax() > 0 ? Math.min(c.segMax(), MAX_DATA_BUFFERS)
                    : MAX_DATA_BUFFERS;
            boolean indirect = n.has(VirtioFeatures.RING_F_INDIRECT_DESC);
            if (!indirect) {
                maxData = Math.min(maxData, o.ringSize() - 2);
            }
            maxData = Math.max(1, maxData);
            long transfer = Math.min((long) maxData * sizeMax, MAX_TRANSFER);
            int maxTransfer = (int) Math.max(blockSize, transfer / blockSize * blockSize);
            int segs = Math.max(Math.max(c.maxDiscardSeg(), c.maxWriteZeroesSeg()), 1);
            int rangeSegments = Math.min(segs, MAX_RANGE_SEGMENTS);
            int scratch = (BlkQueue.SCRATCH_SEGMENTS + 16 * rangeSegments + 63) & ~63;
            return new Geometry(blockSize, sizeMax, maxData, indirect ? maxData + 2 : 0, maxTransfer, rangeSegments, scratch);
        }
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
            Geometry g = Geometry.of(n, options);
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
        return bounced.sum();
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
        return new QueueView(index);
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        return data(BlkRequest.T_IN, offset, dst, pickQueue());
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src) {
        return data(BlkRequest.T_OUT, offset, src, pickQueue());
    }

    @Override
    public CompletableFuture<Void> flush() {
        return flush(pickQueue());
    }

    @Override
    public CompletableFuture<Void> discard(long offset, long length) {
        return ranges(BlkRequest.T_DISCARD, offset, length, false, pickQueue());
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
        CompletableFuture<String> result = new CompletableFuture<>();
        buffers.allocateAsync(BlkRequest.ID_BYTES).whenComplete((off, e) -> {
            if (e != null) {
                fail(result, e);
                return;
            }
            BlkRequest r = BlkRequest.data(BlkRequest.T_GET_ID, 0, off, BlkRequest.ID_BYTES);
            submit(pickQueue(), r).whenComplete((v, err) -> {
                byte[] id = new byte[BlkRequest.ID_BYTES];
                buffers.view(off, BlkRequest.ID_BYTES).get(id);
                buffers.release(off, BlkRequest.ID_BYTES);
                if (err != null) {
                    fail(result, err);
                } else {
                    int len = 0;
                    while (len < id.length && id[len] != 0) {
                        len++;
                    }
                    result.complete(new String(id, 0, len, StandardCharsets.US_ASCII));
                }
            });
        });
        return track(result);
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
        int length = buf.remaining();
        CompletableFuture<Void> refused = admit(what, type == BlkRequest.T_OUT);
        if (refused == null) {
            refused = checkRange(what, offset, length, true);
        }
        if (refused != null) {
            return refused;
        }
        if (length == 0) {
            return CompletableFuture.completedFuture(null);
        }
        long inPlace = buffers.regionOffset(buf, 0);
        List<CompletableFuture<Void>> parts = new ArrayList<>();
        for (int done = 0; done < length; done += maxTransfer) {
            int len = Math.min(maxTransfer, length - done);
            long sector = (offset + done) / SECTOR;
            if (inPlace >= 0) {
                parts.add(submit(queue, BlkRequest.data(type, sector, inPlace + done, len)));
            } else {
                parts.add(bounced(type, sector, buf, done, len, queue));
            }
        }
        return track(all(parts));
    }

    /** One request through a region bounce buffer: copy in before a write, out after a read. */
    private CompletableFuture<Void> bounced(int type, long sector, ByteBuffer buf, int at, int len, int queue) {
        int start = buf.position() + at;
        bounced.add(len);
        return buffers.allocateAsync(len).thenCompose(off -> {
            ByteBuffer bounce = buffers.view(off, len);
            if (type == BlkRequest.T_OUT) {
                bounce.put(buf.duplicate().limit(start + len).position(start));
            }
            return submit(queue, BlkRequest.data(type, sector, off, len)).whenComplete((v, e) -> {
                try {
                    if (e == null && type == BlkRequest.T_IN) {
                        buf.duplicate().limit(start + len).position(start).put(bounce.clear());
                    }
                } finally {
                    buffers.release(off, len);
                }
            });
        });
    }

    private CompletableFuture<Void> flush(int queue) {
        CompletableFuture<Void> refused = admit("flush", false);
        if (refused != null) {
            return refused;
        }
        if (!link.negotiated().has(VirtioFeatures.BLK_F_FLUSH)) {
            // virtio 1.2 §5.2.5: without VIRTIO_BLK_F_FLUSH the device has no volatile cache; writes are durable when done.
            return CompletableFuture.completedFuture(null);
        }
        return track(submit(queue, BlkRequest.data(BlkRequest.T_FLUSH, 0, -1, 0)));
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
        VirtioBlkConfig c = link.negotiated().config();
        int maxSeg = discard ? c.maxDiscardSeg() : c.maxWriteZeroesSeg();
        int perRequest = Math.max(1, Math.min(maxSeg, rangeSegments));
        long maxSectors = discard ? Integer.toUnsignedLong(c.maxDiscardSectors()) : Integer.toUnsignedLong(c.maxWriteZeroesSectors());
        long blockSectors = blockSize / SECTOR;
        maxSectors = maxSectors == 0 ? (1L << 22) : maxSectors;
        maxSectors = Math.max(blockSectors, maxSectors / blockSectors * blockSectors);
        boolean mayUnmap = !discard && unmap && c.writeZeroesMayUnmap();
        List<CompletableFuture<Void>> parts = new ArrayList<>();
        List<BlkRequest.Segment> segments = new ArrayList<>();
        for (long sector = offset / SECTOR, end = (offset + length) / SECTOR; sector < end; ) {
            int n = (int) Math.min(maxSectors, end - sector);
            // §5.2.6: the unmap flag is only valid for write-zeroes; a discard must send 0.
            segments.add(new BlkRequest.Segment(sector, n, mayUnmap));
            sector += n;
            if (segments.size() == perRequest || sector == end) {
                parts.add(submit(queue, BlkRequest.ranges(type, segments)));
                segments = new ArrayList<>();
            }
        }
        return track(all(parts));
    }

    /** Sends one request and turns its status byte into success or a {@link BlockDeviceException}. */
    private CompletableFuture<Void> submit(int queue, BlkRequest r) {
        queues.get(queue).submit(r);
        return r.status().thenApply(status -> {
            if (status == BlkRequest.S_OK) {
                return null;
            }
            String where = r.type() == BlkRequest.T_FLUSH || r.type() == BlkRequest.T_GET_ID ? ""
                    : r.segments().isEmpty() ? " of " + r.dataLength() + " bytes at sector " + r.sector()
                    : " of " + r.segments().size() + " range(s) from sector " + r.segments().get(0).sector();
            Reason reason = status == BlkRequest.S_UNSUPP ? Reason.UNSUPPORTED : Reason.IO_ERROR;
            String code = status == BlkRequest.S_IOERR ? "VIRTIO_BLK_S_IOERR" : status == BlkRequest.S_UNSUPP
                    ? "VIRTIO_BLK_S_UNSUPP" : "invalid status " + status;
            throw new CompletionException(new BlockDeviceException(reason, name + ": the back end failed the "
                    + BlkRequest.typeName(r.type()) + where + " on queue " + queue + " (" + code
                    + "); see the back end's log (spdk_tgt) for the cause"));
        });
    }

    /** All parts done, failing with the first part's {@link BlockDeviceException} (unwrapped). */
    private static CompletableFuture<Void> all(List<CompletableFuture<Void>> parts) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
            if (e == null) {
                result.complete(null);
            } else {
                fail(result, e);
            }
        });
        return result;
    }

    private static void fail(CompletableFuture<?> f, Throwable e) {
        Throwable cause = e;
        while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        f.completeExceptionally(cause);
    }

    private static CompletableFuture<Void> failed(Reason reason, String message) {
        return CompletableFuture.failedFuture(new BlockDeviceException(reason, message));
    }

    /** Counts the operation until it completes, so {@link #close()} can wait for it. */
    private <T> CompletableFuture<T> track(CompletableFuture<T> f) {
        active.incrementAndGet();
        f.whenComplete((v, e) -> {
            if (active.decrementAndGet() == 0) {
                synchronized (active) {
                    active.notifyAll();
                }
            }
        });
        return f;
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
        long deadline = System.nanoTime() + options.reconnectTimeout().toNanos() + 5_000_000_000L;
        synchronized (active) {
            while (active.get() > 0 && System.nanoTime() - deadline < 0) {
                try {
                    active.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
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

    /** {@link VhostBlockDevice#queue(int)}. */
    private final class QueueView implements BlockDevice {
        private final int index;

        QueueView(int index) {
            this.index = index;
        }

        @Override
        public long sizeBytes() {
            return VhostBlockDevice.this.sizeBytes();
        }

        @Override
        public int logicalBlockSize() {
            return blockSize;
        }

        @Override
        public int queueDepth() {
            return options.ringSize();
        }

        @Override
        public boolean supportsDiscard() {
            return VhostBlockDevice.this.supportsDiscard();
        }

        @Override
        public Optional<IoBuffers> ioBuffers() {
            return VhostBlockDevice.this.ioBuffers();
        }

        @Override
        public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
            return data(BlkRequest.T_IN, offset, dst, index);
        }

        @Override
        public CompletableFuture<Void> write(long offset, ByteBuffer src) {
            return data(BlkRequest.T_OUT, offset, src, index);
        }

        @Override
        public CompletableFuture<Void> flush() {
            return VhostBlockDevice.this.flush(index);
        }

        @Override
        public CompletableFuture<Void> discard(long offset, long length) {
            return ranges(BlkRequest.T_DISCARD, offset, length, false, index);
        }

        @Override
        public void close() {
            // The device owns the connection; closing one queue's view changes nothing.
        }
    }
}
