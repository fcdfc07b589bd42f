package org.spdksr.datapath.blkifd;

import static org.spdksr.datapath.blkif.BlkifConstants.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.blkif.BlkifRequest;
import org.spdksr.datapath.blkif.Segment;
import org.spdksr.datapath.device.BlockDevice;
import org.spdksr.datapath.xen.grant.CopySegment;
import org.spdksr.datapath.xen.grant.GrantAccess;
import org.spdksr.datapath.xen.grant.GrantRef;
import org.spdksr.datapath.xen.grant.GrantStatus;

/**
 * Moves one checked request's data between the guest's granted pages and the block device, with
 * grant copy (or a copy from a persistent mapping) into buffers from {@link RequestBuffers}: the
 * device's own where it offers them, so that is the only copy (blkif.md §2.3, §7). Every step that
 * can fail ends in a status for the response; nothing here throws at the caller.
 */
final class RequestIo {
    private static final Logger LOG = LoggerFactory.getLogger(RequestIo.class);

    private final int frontendDomid;
    private final GrantAccess grants;
    private final BlockDevice device;
    private final RequestBuffers buffers;
    private final QueueCounters counters;
    private final GuestMemoryGate guest;
    private final PersistentGrants persistent;
    private final String name;
    /** Every line here is per request, so a guest can cause any number of them: all go through the budget. */
    private final RateLimitedLog guestLog;

    /** Makes the I/O half of a queue, given the queue's gate to its guest's memory. */
    @FunctionalInterface
    interface Factory {
        RequestIo create(GuestMemoryGate guest);
    }

    /**
     * @param persistent the connection's persistent grants, or null when not negotiated
     * @param guestLog the device's budget for log lines its guest causes
     */
    RequestIo(String name, int frontendDomid, GrantAccess grants, BlockDevice device, RequestBuffers buffers,
            QueueCounters counters, GuestMemoryGate guest, PersistentGrants persistent,
            RateLimitedLog guestLog) {
        this.name = name;
        this.frontendDomid = frontendDomid;
        this.grants = grants;
        this.device = device;
        this.buffers = buffers;
        this.counters = counters;
        this.guest = guest;
        this.persistent = persistent;
        this.guestLog = guestLog;
    }

    /**
     * The request's I/O, ready to run with its data buffer already taken, so that a queue can stop
     * taking requests while blkifd's buffer memory is spent (issue 18): empty in that case, and
     * {@code onMemoryReturned} runs when it is worth asking again.
     */
    Optional<Supplier<CompletableFuture<Short>>> prepare(BlkifRequest.Direct request, Runnable onMemoryReturned) {
        int bytes = dataBytes(request);
        if (!movesData(request, bytes)) {
            return Optional.of(() -> execute(request, bytes, null));
        }
        Optional<CompletableFuture<RequestBuffers.Lease>> buffer;
        try {
            buffer = buffers.tryTake(bytes, onMemoryReturned);
        } catch (RuntimeException e) {
            buffer = Optional.of(CompletableFuture.failedFuture(e));
        }
        return buffer.map(b -> () -> execute(request, bytes, b));
    }

    /** The queue stopped: it no longer waits for buffer memory. */
    void stopWaitingForMemory(Runnable onMemoryReturned) {
        buffers.withdraw(onMemoryReturned);
    }

    private static int dataBytes(BlkifRequest.Direct request) {
        return request.segments().stream().mapToInt(Segment::bytes).sum();
    }

    private static boolean movesData(BlkifRequest.Direct request, int bytes) {
        return switch (request.ioOperation()) {
            case OP_READ, OP_WRITE -> true;
            case OP_FLUSH_DISKCACHE, OP_WRITE_BARRIER -> bytes > 0;
            default -> false;
        };
    }

    /** @param buffer the request's data buffer when it {@link #movesData}, else null */
    private CompletableFuture<Short> execute(BlkifRequest.Direct request, int bytes,
            CompletableFuture<RequestBuffers.Lease> buffer) {
        long offset = request.sector() * SECTOR_SIZE;
        if (buffer == null) {
            return switch (request.ioOperation()) {
                case OP_FLUSH_DISKCACHE, OP_WRITE_BARRIER -> flush();
                default -> done(RSP_EOPNOTSUPP);
            };
        }
        return switch (request.ioOperation()) {
            case OP_READ -> read(request, offset, bytes, buffer);
            case OP_WRITE -> write(request, offset, bytes, buffer);
            // A flush with data is a write with a flush before it (preflush) and after it (FUA):
            // Linux blkfront sends REQ_PREFLUSH|REQ_FUA writes this way (blkif.md §1.7). The buffer
            // is held from the start, so it is given back whichever step fails.
            default -> withBuffer(request, bytes, buffer, b -> flush()
                    .thenCompose(s -> s != RSP_OKAY ? done(s) : writeFrom(request, offset, bytes, b))
                    .thenCompose(s -> s != RSP_OKAY ? done(s) : flush()));
        };
    }

    CompletableFuture<Short> discard(BlkifRequest.Discard request) {
        counters.discards.increment();
        return status(() -> device.discard(request.sector() * SECTOR_SIZE, request.nrSectors() * SECTOR_SIZE), "discard");
    }

    private CompletableFuture<Short> flush() {
        counters.flushes.increment();
        return status(device::flush, "flush");
    }

    private CompletableFuture<Short> read(BlkifRequest.Direct request, long offset, int bytes,
            CompletableFuture<RequestBuffers.Lease> leased) {
        counters.reads.increment();
        return withBuffer(request, bytes, leased, buffer -> status(() -> device.read(offset, buffer.duplicate()), "read")
                .thenApply(s -> {
                    if (s != RSP_OKAY) {
                        return s;
                    }
                    // After the frontend closed, its pages are no longer ours to write (blkif.md §5.7):
                    // the gate is checked and held for the copy, so the queue cannot unmap meanwhile.
                    short copied = guest.ifOpen(() -> copy(request, buffer, false), RSP_ERROR);
                    if (copied == RSP_OKAY) {
                        counters.bytesRead.add(bytes);
                    }
                    return copied;
                }));
    }

    private CompletableFuture<Short> write(BlkifRequest.Direct request, long offset, int bytes,
            CompletableFuture<RequestBuffers.Lease> leased) {
        return withBuffer(request, bytes, leased, buffer -> writeFrom(request, offset, bytes, buffer));
    }

    private CompletableFuture<Short> writeFrom(BlkifRequest.Direct request, long offset, int bytes, ByteBuffer buffer) {
        counters.writes.increment();
        // A request that waited for a buffer may find its frontend gone: no longer ours to read.
        short copied = guest.ifOpen(() -> copy(request, buffer, true), RSP_ERROR);
        if (copied != RSP_OKAY) {
            return done(copied);
        }
        return status(() -> device.write(offset, buffer.duplicate()), "write").thenApply(s -> {
            if (s == RSP_OKAY) {
                counters.bytesWritten.add(bytes);
            }
            return s;
        });
    }

    /**
     * Runs {@code io} on the request's buffer of {@code bytes} once it is there, and gives the
     * buffer back when {@code io}'s future completes, whatever the outcome: the one place buffers
     * are released.
     */
    private CompletableFuture<Short> withBuffer(BlkifRequest.Direct request, int bytes,
            CompletableFuture<RequestBuffers.Lease> taken, Function<ByteBuffer, CompletableFuture<Short>> io) {
        return taken.handle((lease, e) -> {
            if (e != null) {
                guestLog.warn(LOG, "{}: request {}: no buffer for its {} bytes: {}", name,
                        Long.toUnsignedString(request.id()), bytes, e.toString());
                counters.errors.increment();
                return done(RSP_ERROR);
            }
            CompletableFuture<Short> result;
            try {
                result = io.apply(lease.buffer());
            } catch (RuntimeException ex) {
                result = CompletableFuture.failedFuture(ex);
            }
            return result.whenComplete((s, ex) -> lease.release());
        }).thenCompose(f -> f);
    }

    /**
     * Segments whose page is persistently mapped are copied directly; all others go in one
     * grant-copy call. Any refused segment fails the request.
     */
    private short copy(BlkifRequest.Direct request, ByteBuffer buffer, boolean fromGuest) {
        List<CopySegment> segments = new ArrayList<>(request.segments().size());
        List<Segment> copied = new ArrayList<>(request.segments().size());
        int position = 0;
        for (Segment segment : request.segments()) {
            var page = persistent == null ? java.util.Optional.<ByteBuffer>empty() : persistent.page(segment.gref());
            if (page.isPresent()) {
                if (fromGuest) {
                    buffer.put(position, page.get(), segment.offsetInPage(), segment.bytes());
                } else {
                    page.get().put(segment.offsetInPage(), buffer, position, segment.bytes());
                }
                position += segment.bytes();
                continue;
            }
            copied.add(segment);
            GrantRef ref = new GrantRef(frontendDomid, segment.gref());
            segments.add(fromGuest
                    ? CopySegment.fromGrant(ref, segment.offsetInPage(), buffer, position, segment.bytes())
                    : CopySegment.toGrant(buffer, position, ref, segment.offsetInPage(), segment.bytes()));
            position += segment.bytes();
        }
        if (segments.isEmpty()) {
            return RSP_OKAY;
        }
        try {
            List<GrantStatus> statuses = grants.copy(segments);
            for (int i = 0; i < statuses.size(); i++) {
                if (!statuses.get(i).ok()) {
                    guestLog.warn(LOG, "{}: request {} segment {} (gref {}): grant copy {} refused: {}", name,
                            Long.toUnsignedString(request.id()), i, Integer.toUnsignedString(copied.get(i).gref()), fromGuest ? "from guest" : "to guest",
                            statuses.get(i).meaning());
                    counters.errors.increment();
                    return RSP_ERROR;
                }
            }
            return RSP_OKAY;
        } catch (IOException | RuntimeException e) {
            guestLog.warn(LOG, "{}: request {}: grant copy failed: {}", name, Long.toUnsignedString(request.id()),
                    e.toString());
            counters.errors.increment();
            return RSP_ERROR;
        }
    }

    private CompletableFuture<Short> status(Supplier<CompletableFuture<Void>> start, String what) {
        CompletableFuture<Void> operation;
        try {
            operation = start.get();
        } catch (RuntimeException e) {
            operation = CompletableFuture.failedFuture(e);
        }
        return operation.handle((v, e) -> {
            if (e == null) {
                return RSP_OKAY;
            }
            guestLog.warn(LOG, "{}: {} failed on the block device: {}", name, what, e.toString());
            counters.errors.increment();
            return RSP_ERROR;
        });
    }

    private static CompletableFuture<Short> done(short status) {
        return CompletableFuture.completedFuture(status);
    }
}
