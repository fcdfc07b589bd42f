package org.spdksr.datapath.vhost;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.LongAdder;
import org.spdksr.datapath.device.BlockDeviceException;
import org.spdksr.datapath.device.BlockDeviceException.Reason;

/**
 * Turns block-device operations that passed the device's checks into virtio-blk requests on a
 * queue, and their status bytes into results: large I/O split at {@code maxTransfer}, buffers
 * outside the shared region bounced through it, discard and write-zeroes ranges split within the
 * back end's per-request limits (virtio 1.2 §5.2.6).
 */
final class VhostRequests {
    private static final int SECTOR = DeviceGeometry.SECTOR;

    private final String name;
    private final List<BlkQueue> queues;
    private final RegionBuffers buffers;
    private final DeviceGeometry geometry;
    private final LongAdder bounced = new LongAdder();

    VhostRequests(String name, List<BlkQueue> queues, RegionBuffers buffers, DeviceGeometry geometry) {
        this.name = name;
        this.queues = List.copyOf(queues);
        this.buffers = buffers;
        this.geometry = geometry;
    }

    /** Bytes that went through a bounce buffer. */
    long bytesBounced() {
        return bounced.sum();
    }

    /** A read or write of {@code buf}'s remaining bytes at a block-aligned {@code offset}. */
    CompletableFuture<Void> data(int type, long offset, ByteBuffer buf, int queue) {
        int length = buf.remaining();
        if (length == 0) {
            return CompletableFuture.completedFuture(null);
        }
        long inPlace = buffers.regionOffset(buf, 0);
        int maxTransfer = geometry.maxTransfer();
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
        return all(parts);
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

    CompletableFuture<Void> flush(int queue) {
        return submit(queue, BlkRequest.data(BlkRequest.T_FLUSH, 0, -1, 0));
    }

    /**
     * Discard or write-zeroes of whole blocks, as requests of at most the back end's segments
     * and sectors per request ({@code config}'s max_discard_* or max_write_zeroes_*).
     */
    CompletableFuture<Void> ranges(int type, long offset, long length, boolean unmap, VirtioBlkConfig config, int queue) {
        boolean discard = type == BlkRequest.T_DISCARD;
        int maxSeg = discard ? config.maxDiscardSeg() : config.maxWriteZeroesSeg();
        int perRequest = Math.max(1, Math.min(maxSeg, geometry.rangeSegments()));
        long maxSectors = Integer.toUnsignedLong(discard ? config.maxDiscardSectors() : config.maxWriteZeroesSectors());
        long blockSectors = geometry.blockSize() / SECTOR;
        maxSectors = maxSectors == 0 ? (1L << 22) : maxSectors;
        maxSectors = Math.max(blockSectors, maxSectors / blockSectors * blockSectors);
        boolean mayUnmap = !discard && unmap && config.writeZeroesMayUnmap();
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
        return all(parts);
    }

    /** VIRTIO_BLK_T_GET_ID: up to 20 bytes, without the padding NULs. */
    CompletableFuture<String> deviceId(int queue) {
        CompletableFuture<String> result = new CompletableFuture<>();
        buffers.allocateAsync(BlkRequest.ID_BYTES).whenComplete((off, e) -> {
            if (e != null) {
                fail(result, e);
                return;
            }
            submit(queue, BlkRequest.data(BlkRequest.T_GET_ID, 0, off, BlkRequest.ID_BYTES)).whenComplete((v, err) -> {
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
        return result;
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
        if (parts.size() == 1) {
            return unwrapped(parts.get(0));
        }
        return unwrapped(CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)));
    }

    private static CompletableFuture<Void> unwrapped(CompletableFuture<Void> f) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        f.whenComplete((v, e) -> {
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
}
